// Hash routing: the server only has to serve index.html at "/", and deep
// links survive a reload without any fallback rule on the server.

export interface Route {
  path: string;
  params: URLSearchParams;
}

function parse(): Route {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path = '/', search = ''] = hash.split('?', 2);
  return { path, params: new URLSearchParams(search) };
}

export const route: Route = $state(parse());

window.addEventListener('hashchange', () => {
  const next = parse();
  route.path = next.path;
  route.params = next.params;
});

export function navigate(path: string, replace = false): void {
  const url = `#${path}`;
  if (replace) {
    history.replaceState(null, '', url);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else if (location.hash !== url) {
    location.hash = url;
  }
}

/** The segments after a prefix, e.g. `match('/albums/')` on `/albums/x` gives `x`. */
export function match(prefix: string): string | null {
  return route.path.startsWith(prefix) && route.path.length > prefix.length ? decodeURIComponent(route.path.slice(prefix.length)) : null;
}
