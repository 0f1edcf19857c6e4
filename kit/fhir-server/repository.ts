import { MemoryRepository } from '@medplum/fhir-router';

type Store<V> = Map<string, Map<string, V>>;

/**
 * medplum's router runs a transaction Bundle without rollback unless `config.transactions` is set,
 * and with it refuses transactions of more than 50 updates (a Synthea patient has hundreds). A FHIR
 * transaction is all or nothing (R4 http.html#transaction), so the server runs transactions
 * entry by entry inside `atomically`, which snapshots the store first and restores it when the
 * callback throws. MemoryRepository replaces stored resources rather than mutating them and only
 * appends to version history, so copying the maps (and history arrays) is a complete snapshot.
 * Callers must keep other writes out while a transaction runs (the server serialises writes).
 *
 * The fields are private in medplum 5.x's typings; if a later version renames them the snapshot is
 * skipped (transactions are then not rolled back, as in plain medplum) instead of failing.
 */
export class SnapshotMemoryRepository extends MemoryRepository {
  async atomically<TResult>(callback: () => Promise<TResult>): Promise<TResult> {
    const snapshot = this.snapshot();
    try {
      return await callback();
    } catch (err) {
      if (snapshot) this.restore(snapshot);
      throw err;
    }
  }

  private stores(): { resources: Store<unknown>; history: Store<unknown[]> } | undefined {
    const self = this as unknown as { resources?: unknown; history?: unknown };
    return self.resources instanceof Map && self.history instanceof Map
      ? { resources: self.resources as Store<unknown>, history: self.history as Store<unknown[]> }
      : undefined;
  }

  private snapshot(): { resources: Store<unknown>; history: Store<unknown[]> } | undefined {
    const stores = this.stores();
    if (!stores) return undefined;
    return {
      resources: new Map([...stores.resources].map(([type, byId]) => [type, new Map(byId)])),
      history: new Map([...stores.history].map(([type, byId]) => [type, new Map([...byId].map(([id, versions]) => [id, [...versions]]))])),
    };
  }

  private restore(snapshot: { resources: Store<unknown>; history: Store<unknown[]> }): void {
    const stores = this.stores();
    if (!stores) return;
    stores.resources.clear();
    stores.history.clear();
    for (const [type, byId] of snapshot.resources) stores.resources.set(type, byId);
    for (const [type, byId] of snapshot.history) stores.history.set(type, byId);
  }
}
