/**
 * A growable FIFO ring buffer with an optional parallel "aux" slot per item (used for the sender
 * of a message). Removing the head never copies the queue, so a crash that leaves the head in
 * place costs O(1) whatever the backlog. Growth doubles the buffer (amortised O(1) per push).
 */
export class RingQueue<T, A = undefined> {
  private items: (T | undefined)[];
  private aux: (A | undefined)[];
  private head = 0;
  private size = 0;
  private mask: number;

  constructor(initialCapacity = 16) {
    let cap = 16;
    while (cap < initialCapacity) cap <<= 1;
    this.items = new Array(cap);
    this.aux = new Array(cap);
    this.mask = cap - 1;
  }

  get length(): number {
    return this.size;
  }

  push(item: T, aux?: A): void {
    if (this.size === this.items.length) this.grow();
    const i = (this.head + this.size) & this.mask;
    this.items[i] = item;
    this.aux[i] = aux;
    this.size++;
  }

  /** The head item; only meaningful when length > 0. */
  peek(): T {
    return this.items[this.head] as T;
  }

  peekAux(): A | undefined {
    return this.aux[this.head];
  }

  /** The item at position `index` from the head (0 = head). */
  at(index: number): T {
    return this.items[(this.head + index) & this.mask] as T;
  }

  atAux(index: number): A | undefined {
    return this.aux[(this.head + index) & this.mask];
  }

  /** Removes the head (callers check length first). */
  drop(): void {
    this.items[this.head] = undefined;
    this.aux[this.head] = undefined;
    this.head = (this.head + 1) & this.mask;
    this.size--;
  }

  shift(): T | undefined {
    if (this.size === 0) return undefined;
    const item = this.items[this.head];
    this.drop();
    return item;
  }

  /** Removes and returns everything, oldest first. */
  drain(): { item: T; aux: A | undefined }[] {
    const out: { item: T; aux: A | undefined }[] = [];
    while (this.size > 0) {
      out.push({ item: this.items[this.head] as T, aux: this.aux[this.head] });
      this.drop();
    }
    return out;
  }

  private grow(): void {
    const cap = this.items.length * 2;
    const items = new Array<T | undefined>(cap);
    const aux = new Array<A | undefined>(cap);
    for (let k = 0; k < this.size; k++) {
      const i = (this.head + k) & this.mask;
      items[k] = this.items[i];
      aux[k] = this.aux[i];
    }
    this.items = items;
    this.aux = aux;
    this.head = 0;
    this.mask = cap - 1;
  }
}
