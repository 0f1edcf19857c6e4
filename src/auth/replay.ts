/**
 * Remembers every accepted `jti` until its token expires, so a captured token cannot be replayed
 * (CDS Hooks 2.0 §Trusting CDS Clients). In memory, per process: the verifier's front cache, which
 * refuses a replay to the same process without a database round trip. SharedReplayGuard (below)
 * adds the store, so a replay to another instance, or after a restart, is refused too.
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

/** The part of the store the shared guard needs (src/storage). */
export interface JtiStore {
  claimJti(iss: string, jti: string, expiresAt: Date): Promise<boolean>;
}

export interface ReplayLogger {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export type SharedReplayResult = 'fresh' | 'replayed' | 'unchecked';

/**
 * Seen jtis per issuer in the configured store (SQLite or PostgreSQL), so every instance and every
 * restart shares them. The store must not hold a hook call hostage: a claim waits at most
 * `timeoutMs`; when the store fails or is slow, the token is let through on the per-process check
 * alone ('unchecked'), the degradation is logged, and the store is left alone for `backoffMs` so an
 * outage does not add the timeout to every call.
 */
export class SharedReplayGuard {
  private skipUntil = 0;
  private unchecked = 0;

  constructor(
    private readonly store: JtiStore,
    private readonly opts: { timeoutMs: number; backoffMs?: number; logger: ReplayLogger; now?: () => number },
  ) {}

  /** Tokens let through unchecked against the store (observability). */
  get uncheckedCount(): number {
    return this.unchecked;
  }

  async claim(iss: string, jti: string, expiresAtMs: number): Promise<SharedReplayResult> {
    const now = (this.opts.now ?? Date.now)();
    if (now < this.skipUntil) {
      this.unchecked++;
      return 'unchecked';
    }
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`replay store did not answer within ${this.opts.timeoutMs} ms`)), this.opts.timeoutMs);
      });
      const fresh = await Promise.race([this.store.claimJti(iss, jti, new Date(expiresAtMs)), timeout]);
      return fresh ? 'fresh' : 'replayed';
    } catch (err) {
      this.unchecked++;
      this.skipUntil = now + (this.opts.backoffMs ?? 5_000);
      this.opts.logger.error(
        { err: { message: (err as Error)?.message ?? String(err) }, uncheckedTokens: this.unchecked },
        'replay store unavailable: tokens are checked against this process only until it answers again',
      );
      return 'unchecked';
    } finally {
      clearTimeout(timer);
    }
  }
}
