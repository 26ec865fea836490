/**
 * Keeps broadcasts in sequence order per conversation while several batches are
 * in flight. PostgreSQL commits two batches of one conversation one after the
 * other (the row lock), but the process may read their replies in either
 * order. A finished batch's messages therefore wait for the batches that were
 * still running on the same conversation when it finished; those are few and
 * already at work, so nothing waits longer than a batch.
 */
export class OrderedRelease<T extends { conversationId: string; seq: number }> {
  private nextBatchId = 0;
  /** conversation -> batches in flight that touch it */
  private readonly running = new Map<string, Set<number>>();
  /** conversation -> finished messages not yet released, each with the batches it waits for */
  private readonly held = new Map<string, { item: T; waitFor: Set<number> }[]>();

  constructor(private readonly release: (items: T[]) => void) {}

  /** Call when a batch starts, with the conversations it writes to. */
  start(conversationIds: Iterable<string>): { finish(items: T[]): void } {
    const id = this.nextBatchId++;
    const conversations = [...new Set(conversationIds)];
    for (const c of conversations) {
      let set = this.running.get(c);
      if (!set) this.running.set(c, (set = new Set()));
      set.add(id);
    }
    return {
      /** The batch's committed messages (or none, when it failed). */
      finish: (items: T[]) => {
        for (const c of conversations) {
          const set = this.running.get(c)!;
          set.delete(id);
          if (set.size === 0) this.running.delete(c);
        }
        const byConversation = new Map<string, T[]>();
        for (const item of items) {
          let list = byConversation.get(item.conversationId);
          if (!list) byConversation.set(item.conversationId, (list = []));
          list.push(item);
        }
        const out: T[] = [];
        for (const c of new Set([...conversations, ...byConversation.keys()])) {
          const waiting = this.held.get(c) ?? [];
          for (const entry of waiting) entry.waitFor.delete(id);
          const others = this.running.get(c);
          for (const item of byConversation.get(c) ?? []) waiting.push({ item, waitFor: new Set(others) });
          waiting.sort((a, b) => a.item.seq - b.item.seq);
          // Release from the front while nothing earlier may still arrive.
          let released = 0;
          while (released < waiting.length && waiting[released].waitFor.size === 0) out.push(waiting[released++].item);
          const rest = waiting.slice(released);
          if (rest.length > 0) this.held.set(c, rest);
          else this.held.delete(c);
        }
        if (out.length > 0) this.release(out);
      },
    };
  }
}
