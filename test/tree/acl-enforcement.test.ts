import { describe, expect, it } from 'vitest';
import { ErrorCode, Perms, type Acl, type AclId } from '../../src/protocol/zookeeper.js';
import { SUPER_ID, digestId } from '../../src/tree/acl.js';
import { Harness, S1 } from './harness.js';

const E = ErrorCode;
const bob: AclId = { scheme: 'digest', id: digestId('bob', 'pw') };
const eve: AclId = { scheme: 'digest', id: digestId('eve', 'pw') };
const superDigest = digestId('super', 'root');
const onlyBob = (perms: number): Acl[] => [{ perms, id: bob }];

/** A tree with /n owned by bob with `perms` and a child /n/c open to all. */
function setup(perms: number): Harness {
  const h = new Harness({ superDigest });
  h.create('/n', { acl: onlyBob(Perms.ALL), auth: [bob] });
  h.create('/n/c', { auth: [bob] });
  h.setAcl('/n', onlyBob(perms), -1, { auth: [bob] });
  return h;
}

describe('permissions per operation', () => {
  it('create needs CREATE on the parent', () => {
    expect(setup(Perms.ALL & ~Perms.CREATE).create('/n/x', { auth: [bob] }).err).toBe(E.NOAUTH);
    expect(setup(Perms.CREATE).create('/n/x', { auth: [bob] }).err).toBe(E.OK);
    expect(setup(Perms.CREATE).create('/n/x', { auth: [eve] }).err).toBe(E.NOAUTH);
  });

  it('delete needs DELETE on the parent, not on the node', () => {
    expect(setup(Perms.ALL & ~Perms.DELETE).delete('/n/c', -1, { auth: [bob] }).err).toBe(E.NOAUTH);
    expect(setup(Perms.DELETE).delete('/n/c', -1, { auth: [bob] }).err).toBe(E.OK);
    const h = setup(Perms.ALL);
    h.create('/n/locked', { acl: onlyBob(0), auth: [bob] });
    expect(h.delete('/n/locked', -1, { auth: [bob] }).err).toBe(E.OK);
  });

  it('setData needs WRITE', () => {
    expect(setup(Perms.ALL & ~Perms.WRITE).setData('/n', 'x', -1, { auth: [bob] }).err).toBe(E.NOAUTH);
    expect(setup(Perms.WRITE).setData('/n', 'x', -1, { auth: [bob] }).err).toBe(E.OK);
  });

  it('setACL needs ADMIN', () => {
    const open: Acl[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
    expect(setup(Perms.ALL & ~Perms.ADMIN).setAcl('/n', open, -1, { auth: [bob] }).err).toBe(E.NOAUTH);
    expect(setup(Perms.ADMIN).setAcl('/n', open, -1, { auth: [bob] }).err).toBe(E.OK);
  });

  it('check needs READ', () => {
    expect(setup(Perms.ALL & ~Perms.READ).check('/n', -1, { auth: [bob] }).err).toBe(E.NOAUTH);
    expect(setup(Perms.READ).check('/n', -1, { auth: [bob] }).err).toBe(E.OK);
  });

  it('getData, getChildren, getChildren2 and getAllChildrenNumber need READ; exists needs nothing', () => {
    const denied = setup(Perms.ALL & ~Perms.READ).tree;
    const allowed = setup(Perms.READ).tree;
    for (const read of ['getData', 'getChildren', 'getChildren2', 'getAllChildrenNumber'] as const) {
      expect(denied[read]('/n', [bob]).err).toBe(E.NOAUTH);
      expect(allowed[read]('/n', [bob]).err).toBe(E.OK);
      expect(allowed[read]('/n', [eve]).err).toBe(E.NOAUTH);
    }
    expect(denied.exists('/n')).not.toBeNull();
  });

  it('getACL needs READ or ADMIN and hides digest hashes from readers without ADMIN', () => {
    expect(setup(Perms.WRITE).tree.getACL('/n', [bob]).err).toBe(E.NOAUTH);
    expect(setup(Perms.ADMIN).tree.getACL('/n', [bob])).toMatchObject({ err: E.OK, acl: onlyBob(Perms.ADMIN) });
    expect(setup(Perms.READ).tree.getACL('/n', [bob])).toMatchObject({
      err: E.OK,
      acl: [{ perms: Perms.READ, id: { scheme: 'digest', id: 'bob:x' } }],
    });
  });
});

describe('super user and schemes', () => {
  it('lets the super user (super id or super digest) do everything', () => {
    const h = setup(0);
    const superByDigest: AclId = { scheme: 'digest', id: superDigest };
    expect(h.tree.getData('/n', [superByDigest]).err).toBe(E.OK);
    expect(h.tree.getACL('/n', [SUPER_ID])).toMatchObject({ acl: onlyBob(0) });
    expect(h.setData('/n', 'x', -1, { auth: [superByDigest] }).err).toBe(E.OK);
    expect(h.create('/n/y', { auth: [SUPER_ID] }).err).toBe(E.OK);
    expect(h.delete('/n/y', -1, { auth: [SUPER_ID] }).err).toBe(E.OK);
    expect(h.setAcl('/n', onlyBob(Perms.ALL), -1, { auth: [SUPER_ID] }).err).toBe(E.OK);
  });

  it('does not treat a digest as super when no super digest is configured', () => {
    const h = new Harness();
    h.create('/n', { acl: onlyBob(Perms.ALL), auth: [bob] });
    expect(h.tree.getData('/n', [{ scheme: 'digest', id: superDigest }]).err).toBe(E.NOAUTH);
  });

  it('stores an auth ACL as the creator digest ids', () => {
    const h = new Harness();
    const auth = [{ scheme: 'ip', id: '10.0.0.1' }, bob];
    expect(h.create('/n', { acl: [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }], auth }).err).toBe(E.OK);
    expect(h.tree.getACL('/n', [bob])).toMatchObject({ acl: onlyBob(Perms.ALL) });
    expect(h.tree.getData('/n', [{ scheme: 'ip', id: '10.0.0.1' }]).err).toBe(E.NOAUTH);
  });

  it('matches ip ACLs by address range', () => {
    const h = new Harness();
    h.create('/n', { acl: [{ perms: Perms.READ, id: { scheme: 'ip', id: '10.1.0.0/16' } }] });
    expect(h.tree.getData('/n', [{ scheme: 'ip', id: '10.1.200.3' }]).err).toBe(E.OK);
    expect(h.tree.getData('/n', [{ scheme: 'ip', id: '10.2.0.3' }]).err).toBe(E.NOAUTH);
  });

  it('checks the ACL of /zookeeper/config (world READ only)', () => {
    const h = new Harness();
    expect(h.tree.getData('/zookeeper/config', []).err).toBe(E.OK);
    expect(h.setData('/zookeeper/config', 'x').err).toBe(E.NOAUTH);
    expect(h.create('/zookeeper/config/x', { sessionId: S1 }).err).toBe(E.NOAUTH);
  });
});
