import { SvelteSet } from 'svelte/reactivity';

/**
 * Selected asset ids, with shift-click ranges taken over the order the
 * list shows (`order()` is asked at click time, as months load lazily).
 */
export class Selection {
  readonly ids = new SvelteSet<string>();
  private last: string | null = null;

  constructor(private readonly order: () => string[]) {}

  toggle(id: string, range: boolean): void {
    if (range && this.last && this.last !== id && this.extend(this.last, id)) return;
    if (this.ids.has(id)) this.ids.delete(id);
    else this.ids.add(id);
    this.last = id;
  }

  /** Selects `from`, `to` and everything between; false (and nothing selected) when either is not in the list. */
  extend(from: string, to: string): boolean {
    const all = this.order();
    const a = all.indexOf(from);
    const b = all.indexOf(to);
    if (a < 0 || b < 0) return false;
    for (const x of all.slice(Math.min(a, b), Math.max(a, b) + 1)) this.ids.add(x);
    this.last = to;
    return true;
  }

  /** Keeps only the ids `keep` accepts. */
  retain(keep: (id: string) => boolean): void {
    for (const id of [...this.ids]) if (!keep(id)) this.ids.delete(id);
    if (this.last && !this.ids.has(this.last)) this.last = null;
  }

  clear(): void {
    this.ids.clear();
    this.last = null;
  }

  list(): string[] {
    return [...this.ids];
  }
}
