/**
 * Rendering a verification: the digest, the verdict, who signed or why nothing verified. Reasons and signer
 * identities come from registries and certificates, so they are made printable.
 */
import {printable, printableJson} from '../ref/text.ts'
import type {VerifyImageResult} from '../signatures/image.ts'
import type {Signer} from '../signatures/types.ts'

export function renderVerification(result: VerifyImageResult, format: 'table' | 'json'): string {
  if (format === 'json') return `${printableJson(result)}\n`
  const {decision} = result
  const lines = [printable(`${result.reference}@${result.digest}`)]
  if (decision.status === 'verified') {
    lines.push(`Verified: ${decision.signers.length} signer${decision.signers.length === 1 ? '' : 's'} (${decision.found} signature${decision.found === 1 ? '' : 's'} found)`)
    for (const signer of decision.signers) lines.push(`  ${printable(describe(signer))}`)
  } else {
    lines.push(decision.found === 0 ? 'Not verified: no signature was found.' : `Not verified: none of ${decision.found} signature${decision.found === 1 ? '' : 's'} verified.`)
    for (const reason of decision.reasons) lines.push(`  ${printable(reason)}`)
  }
  return `${lines.join('\n')}\n`
}

function describe(signer: Signer): string {
  return signer.kind === 'key' ? `key ${signer.fingerprint}` : `${signer.subject} (issuer ${signer.issuer})`
}
