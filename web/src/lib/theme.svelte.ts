// The theme follows the system unless the user picked one; the choice is
// kept per browser, as it is about the screen rather than the account.
export type Theme = 'light' | 'dark';

const KEY = 'shoebox.theme';
const media = window.matchMedia('(prefers-color-scheme: dark)');

function stored(): Theme | null {
  const v = localStorage.getItem(KEY);
  return v === 'light' || v === 'dark' ? v : null;
}

export const theme = $state({ current: stored() ?? (media.matches ? 'dark' : 'light') as Theme });

function apply(): void {
  document.documentElement.dataset.theme = theme.current;
}

media.addEventListener('change', () => {
  if (stored() === null) {
    theme.current = media.matches ? 'dark' : 'light';
    apply();
  }
});

export function toggleTheme(): void {
  theme.current = theme.current === 'dark' ? 'light' : 'dark';
  localStorage.setItem(KEY, theme.current);
  apply();
}

apply();
