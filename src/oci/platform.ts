/** Platforms as the image spec writes them, and the `os/arch/variant` strings people read. */
import Type, {type Static} from 'typebox'
import {printable} from '../ref/text.ts'

export const PlatformSchema = Type.Object({
  architecture: Type.String(),
  os: Type.String(),
  'os.version': Type.Optional(Type.String()),
  'os.features': Type.Optional(Type.Array(Type.String())),
  variant: Type.Optional(Type.String()),
})
export type Platform = Static<typeof PlatformSchema>

/** The platform `amd64Only` selects. */
export const LINUX_AMD64: Platform = {os: 'linux', architecture: 'amd64'}

/** `linux/arm64/v8`. The parts come from registries, so the result is made printable for plans and messages. */
export function formatPlatform(p: Platform): string {
  return printable([p.os, p.architecture, p.variant].filter((s) => s !== undefined && s !== '').join('/'))
}

/**
 * buildx stores provenance/SBOM attestations in the index as manifests with platform unknown/unknown; they are
 * copied with the index but are not platforms anyone runs.
 */
export function isUnknownPlatform(p: Platform | undefined): boolean {
  return p === undefined || (p.os === 'unknown' && p.architecture === 'unknown')
}

/** amd64 has no variants in practice (v2/v3 are CPU levels some builders write); any of them runs on amd64. */
export function isLinuxAmd64(p: Platform | undefined): boolean {
  return p !== undefined && p.os === 'linux' && p.architecture === 'amd64'
}
