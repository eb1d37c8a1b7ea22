/**
 * The paths the inspector answers, in a module of their own: a real node's admin port decides
 * from these whether a request is the inspector's before it loads the inspector (which brings
 * Graphviz) on the first one.
 */

/** The page's static files, from ./public. */
export const PUBLIC_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};

/** Whether a path is one the inspector answers over HTTP. */
export function isInspectorPath(path: string): boolean {
  return PUBLIC_FILES[path] !== undefined || path === '/api/charts' || path === '/api/view' || path === '/favicon.ico' || /^\/charts\/[a-z]+\.svg$/.test(path);
}

/** Where the live node report is served (on every node's admin port). */
export const NODE_REPORT_PATH = '/inspect/node';
