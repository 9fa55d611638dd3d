/**
 * What a plan entry records about signatures: the policy (so apply can verify again from the plan file alone,
 * never from the definition) and what plan found: status, who signed, how many signatures, why they failed,
 * and the verdict on each required attestation.
 * Public keys are stored as PEM: they are not secrets. A trusted root file is pinned by its sha256.
 */
import Type, {type Static} from 'typebox'

const Literal = Type.Literal
const Strict = {additionalProperties: false} as const

const SignerSchema = Type.Union([
  Type.Object({kind: Literal('key'), fingerprint: Type.String()}, Strict),
  Type.Object({kind: Literal('identity'), subject: Type.String(), issuer: Type.String()}, Strict),
])

const KeysRecord = Type.Array(Type.Object({fingerprint: Type.String(), pem: Type.String()}, Strict))
const IdentitiesRecord = Type.Array(
  Type.Object(
    {
      issuer: Type.String(),
      subject: Type.Union([
        Type.Object({kind: Literal('exact'), value: Type.String()}, Strict),
        Type.Object({kind: Literal('regexp'), pattern: Type.String()}, Strict),
      ]),
    },
    Strict,
  ),
)

/** A required attestation and whose signature it needs: the entry's keys and identities, or its own. */
const AttestationPolicyRecord = Type.Object(
  {
    predicateType: Type.String({minLength: 1}),
    trust: Type.Union([
      Type.Object({kind: Literal('entry')}, Strict),
      Type.Object({kind: Literal('own'), keys: KeysRecord, identities: IdentitiesRecord}, Strict),
    ]),
  },
  Strict,
)

const PolicyRecordSchema = Type.Object(
  {
    verify: Type.Union([Literal('required'), Literal('if-present'), Literal('skip')]),
    keys: KeysRecord,
    identities: IdentitiesRecord,
    trustedRoot: Type.Union([
      Type.Object({kind: Literal('public-good')}, Strict),
      Type.Object({kind: Literal('file'), path: Type.String(), sha256: Type.String()}, Strict),
    ]),
    copy: Type.Boolean(),
    sign: Type.Union([
      Type.Null(),
      Type.Object({kind: Literal('key'), keyPath: Type.String(), format: Type.Union([Literal('bundle'), Literal('legacy')])}, Strict),
      Type.Object({kind: Literal('keyless'), format: Type.Union([Literal('bundle'), Literal('legacy')])}, Strict),
    ]),
    /** SLSA provenance for each target digest, signed with `sign` (it needs one); absent: off, as in older plans. */
    provenance: Type.Optional(Type.Literal(true)),
    attestations: Type.Array(AttestationPolicyRecord),
  },
  Strict,
)
export type PolicyRecord = Static<typeof PolicyRecordSchema>

export const SignatureRecordSchema = Type.Object(
  {
    policy: PolicyRecordSchema,
    status: Type.Union([Literal('verified'), Literal('unsigned'), Literal('failed'), Literal('skipped')]),
    signers: Type.Array(SignerSchema),
    found: Type.Integer({minimum: 0}),
    reasons: Type.Array(Type.String()),
    /** One per required attestation of the policy, in its order; any not `verified` makes `status` failed. */
    attestations: Type.Array(
      Type.Object(
        {
          predicateType: Type.String({minLength: 1}),
          status: Type.Union([Literal('verified'), Literal('missing'), Literal('failed')]),
          signers: Type.Array(SignerSchema),
          reasons: Type.Array(Type.String()),
        },
        Strict,
      ),
    ),
  },
  Strict,
)
export type SignatureRecord = Static<typeof SignatureRecordSchema>
