import { describe, expect, it } from 'vitest';
import { ancestorsOf, isValidPath, pathError, sequenceSuffix, splitPath } from '../../src/tree/path.js';

describe('pathError (PathUtils.validatePath)', () => {
  it.each(['/', '/a', '/a/b', '/a.b', '/.a', '/a.', '/..a', '/a..', '/a/...', '/zookeeper', '/ü', '/a b'])('accepts %j', (p) => {
    expect(pathError(p)).toBeNull();
  });

  it.each([
    ['', 'length'],
    ['a', 'start with /'],
    ['/a/', 'end with /'],
    ['//a', 'empty node name'],
    ['/a//b', 'empty node name'],
    ['/.', 'relative'],
    ['/a/./b', 'relative'],
    ['/..', 'relative'],
    ['/a/../b', 'relative'],
    ['/a\u0000b', 'null character'],
    ['/a\u0001', 'invalid character'],
    ['/a\u001f', 'invalid character'],
    ['/a\u007f', 'invalid character'],
    ['/a\u009f', 'invalid character'],
    ['/a\ud83d\ude00', 'invalid character'],
    ['/a\uf8ff', 'invalid character'],
    ['/a\ufff0', 'invalid character'],
    ['/a\uffff', 'invalid character'],
  ])('rejects %j (%s)', (p, reason) => {
    expect(pathError(p)).toContain(reason);
    expect(isValidPath(p)).toBe(false);
  });

  it('accepts characters just outside the forbidden ranges', () => {
    expect(isValidPath('/a\u00a0\u00ff\uf900\uffef')).toBe(true);
  });
});

describe('splitPath', () => {
  it('splits at the last slash, top-level nodes under the root', () => {
    expect(splitPath('/a')).toEqual({ parent: '/', name: 'a' });
    expect(splitPath('/a/b/c')).toEqual({ parent: '/a/b', name: 'c' });
    expect(splitPath('/a/')).toEqual({ parent: '/a', name: '' });
    expect(splitPath('/')).toEqual({ parent: '/', name: '' });
  });

  it('refuses paths without a slash or with NUL', () => {
    expect(splitPath('abc')).toBeNull();
    expect(splitPath('/a\u0000')).toBeNull();
  });
});

describe('ancestorsOf', () => {
  it('lists ancestors nearest first down to the root', () => {
    expect(ancestorsOf('/a/b/c')).toEqual(['/a/b', '/a', '/']);
    expect(ancestorsOf('/a')).toEqual(['/']);
    expect(ancestorsOf('/')).toEqual([]);
  });
});

describe('sequenceSuffix', () => {
  it('pads to ten digits like %010d', () => {
    expect(sequenceSuffix(0)).toBe('0000000000');
    expect(sequenceSuffix(42)).toBe('0000000042');
    expect(sequenceSuffix(2147483647)).toBe('2147483647');
    expect(sequenceSuffix(-1)).toBe('-000000001');
  });
});
