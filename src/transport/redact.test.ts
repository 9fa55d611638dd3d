import {describe, expect, test} from 'bun:test'
import {redactUrl, redactUserinfo} from './redact.ts'

describe('redactUrl', () => {
  const cases: {name: string; input: string; want: string}[] = [
    {name: 'userinfo', input: 'https://alice:hunter2@r.example.com/v2/', want: 'https://REDACTED@r.example.com/v2/'},
    {name: 'username only', input: 'https://alice@r.example.com/v2/', want: 'https://REDACTED@r.example.com/v2/'},
    {name: 'password only', input: 'https://:hunter2@r.example.com/v2/', want: 'https://r.example.com/v2/'},
    {
      name: 'S3 pre-signed URL',
      input: 'https://bucket.s3.amazonaws.com/blob?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=deadbeef&partNumber=1',
      want: 'https://bucket.s3.amazonaws.com/blob?X-Amz-Algorithm=REDACTED&X-Amz-Credential=REDACTED&X-Amz-Signature=REDACTED&partNumber=1',
    },
    {
      name: 'GCS signed URL',
      input: 'https://storage.googleapis.com/b/o?X-Goog-Signature=abc123&X-Goog-Credential=svc&generation=7',
      want: 'https://storage.googleapis.com/b/o?X-Goog-Signature=REDACTED&X-Goog-Credential=REDACTED&generation=7',
    },
    {
      name: 'Azure SAS',
      input: 'https://acct.blob.core.windows.net/c/b?sv=2020-08-04&se=2030-01-01&sp=r&sig=c2VjcmV0',
      want: 'https://acct.blob.core.windows.net/c/b?sv=REDACTED&se=REDACTED&sp=REDACTED&sig=REDACTED',
    },
    {
      name: 'CloudFront',
      input: 'https://d111.cloudfront.net/x?Expires=1700000000&Signature=abc&Key-Pair-Id=K1',
      want: 'https://d111.cloudfront.net/x?Expires=REDACTED&Signature=REDACTED&Key-Pair-Id=REDACTED',
    },
    {
      name: 'token parameters',
      input: 'https://auth.example.com/token?access_token=t0k&refresh_token=r3f&service=s',
      want: 'https://auth.example.com/token?access_token=REDACTED&refresh_token=REDACTED&service=s',
    },
    {
      name: 'upload session state',
      input: 'https://r.example.com/v2/a/blobs/uploads/1?_state=c2VjcmV0&digest=sha256%3Aab',
      want: 'https://r.example.com/v2/a/blobs/uploads/1?_state=REDACTED&digest=sha256%3Aab',
    },
    {
      name: 'a plain registry URL is unchanged',
      input: 'https://r.example.com/v2/library/busybox/manifests/1.36',
      want: 'https://r.example.com/v2/library/busybox/manifests/1.36',
    },
    {
      name: 'a scope query is kept',
      input: 'https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fbusybox%3Apull',
      want: 'https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fbusybox%3Apull',
    },
    {name: 'not a URL', input: 'not a url', want: '<invalid url>'},
  ]
  for (const {name, input, want} of cases) {
    test(name, () => {
      expect(redactUrl(input)).toBe(want)
    })
  }

  test('accepts a URL object and leaves it untouched', () => {
    const url = new URL('https://alice:hunter2@r.example.com/v2/?X-Amz-Signature=s')
    expect(redactUrl(url)).toBe('https://REDACTED@r.example.com/v2/?X-Amz-Signature=REDACTED')
    expect(url.password).toBe('hunter2')
  })
})

describe('redactUserinfo', () => {
  const cases: [string, string][] = [
    ['https://user:s3cret@host', 'https://REDACTED@host'],
    ['docker.io=https://u:p@ss@host:99999', 'docker.io=https://REDACTED@host:99999'],
    ['user:s3cret@host', 'REDACTED@host'],
    ['docker.io=user:s3cret@host', 'docker.io=REDACTED@host'],
    ['mirror "ftp://a:b@c/d" failed', 'mirror "ftp://REDACTED@c/d" failed'],
    ['docker.io=https://hub-cache.example', 'docker.io=https://hub-cache.example'],
    ['https://host/path?q=a@b', 'https://host/path?q=a@b'],
  ]
  for (const [input, want] of cases) {
    test(input, () => {
      expect(redactUserinfo(input)).toBe(want)
    })
  }
})
