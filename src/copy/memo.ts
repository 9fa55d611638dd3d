/** Stores a pending operation under `key`, forgotten again if it fails so that a later need tries afresh. */
export function remember<T>(memo: Map<string, Promise<T>>, key: string, pending: Promise<T>): Promise<T> {
  memo.set(key, pending)
  pending.catch(() => memo.get(key) === pending && memo.delete(key))
  return pending
}
