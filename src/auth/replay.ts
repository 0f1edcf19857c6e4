/**
 * Remembers every accepted `jti` until its token expires, so a captured token cannot be replayed
 * (CDS Hooks 2.0 §Trusting CDS Clients). In memory, per process: with several instances behind a
 * load balancer a token could be replayed once per instance (docs/security.md says what to do).
 *
 * Bounded: only tokens that already passed signature and claim checks get here, so filling it needs
 * a trusted EHR's key; still, memory must not grow without limit. When full, expired entries go
 * first, then the oldest inserted ones (the nearest to expiry in practice, as lifetimes are capped);
 * the caller is told, so it can log that replay protection is degraded.
 */
export interface ReplayCacheOptions {
  maxEntries?: number;
  now?: () => number;
}

export type ReplayResult = 'fresh' | 'replayed';

export class JtiReplayCache {
  private readonly entries = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly now: () => number;
  /** Entries dropped before their expiry because the cache was full (observability). */
  evictedUnexpired = 0;

  constructor(opts: ReplayCacheOptions = {}) {
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.now = opts.now ?? Date.now;
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Records `jti` of issuer `iss` until `expiresAtMs`; says whether it had been seen (and not yet
   * expired). The key includes the issuer: two EHRs may well pick the same jti.
   */
  checkAndRemember(iss: string, jti: string, expiresAtMs: number): ReplayResult {
    const key = `${iss}\u0000${jti}`;
    const now = this.now();
    const seenUntil = this.entries.get(key);
    if (seenUntil !== undefined && seenUntil > now) return 'replayed';
    if (seenUntil !== undefined) this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.makeRoom(now);
    this.entries.set(key, expiresAtMs);
    return 'fresh';
  }

  private makeRoom(now: number): void {
    for (const [key, exp] of this.entries) {
      if (exp <= now) this.entries.delete(key);
    }
    // Still full of live tokens: drop the oldest 1% so the next inserts do not each pay a full sweep.
    if (this.entries.size >= this.maxEntries) {
      let drop = Math.max(1, Math.ceil(this.maxEntries / 100));
      for (const key of this.entries.keys()) {
        if (drop-- <= 0) break;
        this.entries.delete(key);
        this.evictedUnexpired++;
      }
    }
  }
}
