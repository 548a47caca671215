import { api, ApiError, setUnauthorizedHandler } from './api';
import { navigate, route } from './router.svelte';
import { linkQuery } from './share';
import type { User } from './types';

interface Session {
  user: User | null;
  /** Where to go back to after logging in again. */
  returnTo: string;
}

export const session: Session = $state({ user: null, returnTo: '/' });

setUnauthorizedHandler(() => {
  session.user = null;
  // A shared link's visitor has no account to log in to.
  if (linkQuery(route.path)) return;
  if (route.path !== '/login' && route.path !== '/setup') {
    session.returnTo = route.path;
    navigate('/login');
  }
});

/** Loads the signed-in user; null when there is no valid session. */
export async function loadUser(): Promise<User | null> {
  try {
    session.user = await api.me();
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) throw e;
    session.user = null;
  }
  return session.user;
}

export async function login(email: string, password: string): Promise<User> {
  await api.login(email, password);
  const user = await loadUser();
  if (!user) throw new Error('Logged in, but the server did not accept the session cookie');
  return user;
}

export async function logout(): Promise<void> {
  try {
    await api.logout();
  } finally {
    session.user = null;
    session.returnTo = '/';
    navigate('/login');
  }
}
