/**
 * How many connections each client address holds on this node (admitted or live), against
 * `MAX_CONNECTIONS_PER_ADDRESS`. Per node on purpose: it bounds what one address can make this
 * process hold, which is what the limit protects; a count in Redis would cost a round trip per
 * connect and could drift when a node dies.
 */
export class AddressSlots {
  private readonly held = new Map<string, number>();

  constructor(private readonly limit: number) {}

  /** Takes a slot for `address`; false when it holds `limit` already. */
  take(address: string): boolean {
    const held = this.held.get(address) ?? 0;
    if (held >= this.limit) return false;
    this.held.set(address, held + 1);
    return true;
  }

  /** Gives a slot back (the connection closed, or never opened). */
  give(address: string): void {
    const held = this.held.get(address) ?? 0;
    if (held <= 1) this.held.delete(address);
    else this.held.set(address, held - 1);
  }

  /** Slots `address` holds (for tests and metrics). */
  of(address: string): number {
    return this.held.get(address) ?? 0;
  }
}
