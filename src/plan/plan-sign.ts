/**
 * `plan --sign`: the plan file's bytes signed as `cosign sign-blob --bundle` does (a message signature in a sigstore
 * bundle, signatures/blob.ts), written beside it (planfile.ts `planBundlePath`). apply/plan-signature.ts checks it.
 */
import {readUserFile} from '../files/read.ts'
import {writeFileAtomic} from '../files/write.ts'
import {type BlobSigner, signBlob} from '../signatures/blob.ts'
import {planBundlePath} from './planfile.ts'

/** Signs the plan file as written (its bytes, not the plan re-serialized) and writes the bundle beside it. */
export async function signPlanFile(planPath: string, signer: BlobSigner, env: Record<string, string | undefined>): Promise<string> {
  const bytes = await readUserFile(planPath, {what: 'plan file', maxBytes: 64 * 1024 * 1024})
  const bundle = await signBlob(bytes, signer, env)
  const path = planBundlePath(planPath)
  await writeFileAtomic(path, new TextDecoder().decode(bundle))
  return path
}
