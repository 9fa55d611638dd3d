import {ecrRegistry} from '../auth/aws.ts'

/** Registries whose repositories are created by a known command, recognised by their host name (refusals.ts). */
export type RegistryKind = {kind: 'ecr'; region: string} | {kind: 'artifact-registry'; location: string} | {kind: 'other'}

export function registryKind(registry: string): RegistryKind {
  const host = registry.split(':')[0]!.toLowerCase()
  const ecr = ecrRegistry(host)
  if (ecr) return {kind: 'ecr', region: ecr.region}
  const ar = /^([a-z0-9-]+)-docker\.pkg\.dev$/.exec(host)
  if (ar) return {kind: 'artifact-registry', location: ar[1]!}
  return {kind: 'other'}
}
