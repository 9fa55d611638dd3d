/** The fake registry's public surface: `startFakeRegistry`, its option and log types, and the fault constructors. */
export {type FakeRegistry, type FakeRegistryOptions, type RequestLogEntry, startFakeRegistry} from './server.ts'
export {requestCost} from './cost.ts'
export type {Access, AuthOptions, BasicAuthOptions, BearerAuthOptions, TokenRequestLogEntry} from './auth.ts'
export {
  type Fault,
  type FaultAction,
  type FaultContext,
  type FaultSpec,
  type Next,
  type Where,
  corruptBlob,
  corruptBody,
  corruptManifest,
  delay,
  echoCredentials,
  omitDigestHeader,
  refuseManifestPut,
  refuseMount,
  resetConnection,
  respondWith,
  serverError,
  serviceUnavailable,
  tooManyRequests,
} from './faults.ts'
export {slowManifestPut} from './write-races.ts'
export {ignoreRanges, moveUploadSession, refuseLargeBody, resetMidChunk} from './transfer-faults.ts'
export {type PullLimitState, pullLimit} from './pull-limit.ts'
export {type ConcurrencyLimitState, concurrencyLimit} from './concurrency-limit.ts'
export type {Storage, StoredManifest} from './storage.ts'
