/**
 * The credential of each registry, looked up at most once a minute: a lookup (docker config, a credential helper, a
 * cloud's workload identity) costs CPU that thousands of requests should not each pay, and reusing it for the whole
 * run would outlive a workload identity's token (an hour; its keychain renews it minutes early). Its secrets are
 * learnt by the run's mask when it is looked up. A failed lookup is not kept, so the next request asks again.
 */
import {type Credential, credentialSecrets} from '../auth/credential.ts'
import type {Secrets} from '../ref/secrets.ts'

const REUSE_MS = 60_000

export class CredentialCache {
  private readonly known = new Map<string, {pending: Promise<Credential>; at: number}>()

  constructor(
    private readonly lookup: (registry: string) => Promise<Credential>,
    private readonly now: () => number,
    private readonly secrets: Secrets | undefined,
  ) {}

  get(registry: string): Promise<Credential> {
    const now = this.now()
    const known = this.known.get(registry)
    if (known && now - known.at < REUSE_MS) return known.pending
    const pending = this.lookup(registry).then((credential) => {
      for (const secret of credentialSecrets(credential)) this.secrets?.add(secret)
      return credential
    })
    pending.catch(() => {
      if (this.known.get(registry)?.pending === pending) this.known.delete(registry)
    })
    this.known.set(registry, {pending, at: now})
    return pending
  }
}
