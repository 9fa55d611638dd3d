/**
 * The trust a plan's policy record stands for, as signature checks take it. Apply verifies again from the record
 * alone (public keys as PEM, keyless identities, the trusted root); a trusted root file is pinned by its sha256,
 * so a root changed after review is refused rather than silently trusted. Each root file is read once per run.
 */
import type {PlanEntry} from '../plan/model.ts'
import {type Digest, sha256Digest} from '../ref/digest.ts'
import type {PolicyTrustInput, TrustInput} from '../signatures/check.ts'
import {readTrustedRootFile, SignatureError} from '../signatures/trust.ts'

type PolicyRecord = PlanEntry['signature']['policy']

export class RecordedTrust {
  /** The sha256 of each trusted root file the records name, by path. */
  private readonly roots = new Map<string, Promise<Digest>>()

  /** The trust of a recorded policy with its attestations; refuses a trusted root file that changed since the plan. */
  async resolve(record: PolicyRecord): Promise<PolicyTrustInput> {
    if (record.trustedRoot.kind === 'file') {
      const actual = await this.rootDigest(record.trustedRoot.path)
      if (actual !== record.trustedRoot.sha256) {
        throw new SignatureError(
          'TRUSTED_ROOT_INVALID',
          `trusted root ${record.trustedRoot.path} changed since the plan was made (${actual}, planned ${record.trustedRoot.sha256}): plan again`,
        )
      }
    }
    const entry: TrustInput = {
      keys: record.keys.map((k) => ({pem: k.pem})),
      identities: record.identities,
      trustedRoot: record.trustedRoot.kind === 'file' ? {kind: 'file', path: record.trustedRoot.path} : {kind: 'public-good'},
    }
    return {
      entry,
      attestations: record.attestations.map(({predicateType, trust}) => ({
        predicateType,
        trust: trust.kind === 'entry' ? entry : {keys: trust.keys.map((k) => ({pem: k.pem})), identities: trust.identities, trustedRoot: entry.trustedRoot},
      })),
    }
  }

  private rootDigest(path: string): Promise<Digest> {
    let digest = this.roots.get(path)
    if (!digest) {
      digest = readTrustedRootFile(path).then((bytes) => sha256Digest(bytes))
      this.roots.set(path, digest)
    }
    return digest
  }
}
