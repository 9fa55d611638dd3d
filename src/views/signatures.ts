/**
 * Rendering a verification: the digest, the verdict, who signed or why nothing verified, and attestations.
 * Reasons, predicate types and signer identities come from registries and certificates, so they are made printable.
 */
import {printable, printableJson} from '../ref/text.ts'
import type {VerifyImageResult} from '../signatures/image.ts'
import {provenanceSource} from '../signatures/provenance.ts'
import type {Signer} from '../signatures/types.ts'
import {type Display, paint, type Screen, shortenName, wrapIndented} from './screen.ts'

export function renderVerification(result: VerifyImageResult, format: 'table' | 'json', display: Display = {kind: 'lines'}): string {
  if (format === 'json') return `${printableJson(result)}\n`
  const lines = verificationLines(result)
  if (display.kind === 'lines') return `${lines.join('\n')}\n`
  // On a terminal: the reference and its digest on lines of their own, every line wrapped to the width, the verdict in colour.
  const {screen} = display
  const [, ...rest] = lines
  const head = [shortenName(printable(result.reference), screen.width), `Digest: ${result.digest}`]
  return `${[...head, ...rest]
    .flatMap((line) => wrapIndented(line, screen.width))
    .map((line) => verdictPainted(line, screen))
    .join('\n')}\n`
}

function verdictPainted(line: string, screen: Screen): string {
  for (const [word, style] of [
    ['Verified:', 'green'],
    ['Not verified:', 'red'],
  ] as const) {
    if (line.startsWith(word)) return `${paint(screen, style, word)}${line.slice(word.length)}`
  }
  return line
}

function verificationLines(result: VerifyImageResult): string[] {
  const {decision} = result
  const lines = [printable(`${result.reference}@${result.digest}`)]
  if (decision.found > 0 && decision.signers.length > 0) {
    lines.push(
      `Verified: ${decision.signers.length} signer${decision.signers.length === 1 ? '' : 's'} (${decision.found} signature${decision.found === 1 ? '' : 's'} found)`,
    )
    for (const signer of decision.signers) lines.push(`  ${describeSigner(signer)}`)
  }
  for (const a of decision.attestations) {
    lines.push(
      a.status === 'verified'
        ? `Attestation ${printable(a.predicateType)}: verified by ${a.signers.map(describeSigner).join(', ')}`
        : `Attestation ${printable(a.predicateType)}: ${a.status}`,
    )
  }
  const asked = new Set(decision.attestations.map((a) => a.predicateType))
  const others = result.verifiedAttestations.filter((a) => !asked.has(a.predicateType))
  if (others.length)
    lines.push(`Also verified (attestations, not signatures): ${others.map((a) => printable(a.predicateType || '(no predicate type)')).join(', ')}`)
  for (const s of result.statements) {
    const source = provenanceSource(s.statement)
    if (source) lines.push(`Provenance (${printable(s.source)}): mirrored from ${printable(`${source.repository}@${source.digest}`)}`)
  }
  for (const r of result.rejected) lines.push(printable(`Rejected ${r.predicateType} (${r.source}): ${r.reason}`))
  if (decision.status !== 'verified') {
    const why =
      decision.found === 0
        ? 'no signature was found.'
        : decision.signers.length
          ? 'a required attestation did not verify.'
          : `none of ${decision.found} signature${decision.found === 1 ? '' : 's'} verified.`
    lines.push(`Not verified: ${why}`)
    for (const reason of decision.reasons) lines.push(`  ${printable(reason)}`)
  }
  return lines
}

function describeSigner(signer: Signer): string {
  return signer.kind === 'key' ? `key ${signer.fingerprint}` : printable(`${signer.subject} (issuer ${signer.issuer})`)
}

/** verify-blob's result: the file, who signed it, and the in-toto statement a DSSE bundle attests. */
export function renderBlobVerification(result: {file: string; signer: Signer; statement: Record<string, unknown> | null}, format: 'text' | 'json'): string {
  if (format === 'json') return `${printableJson({verified: true, ...result})}\n`
  const predicateType = result.statement?.['predicateType']
  const attests = result.statement === null ? '' : ` (attestation of ${printable(typeof predicateType === 'string' ? predicateType : '(no predicate type)')})`
  return `Verified ${printable(result.file)}: signed by ${describeSigner(result.signer)}${attests}\n`
}
