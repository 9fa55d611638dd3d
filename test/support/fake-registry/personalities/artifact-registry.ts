/**
 * Google Artifact Registry (`<location>-docker.pkg.dev/<project>/<repository>/<image>`; gcr.io is served by it
 * now), as a target:
 *
 * - Its token endpoint is `/v2/token` of the registry host, service = the host:
 *   https://github.com/docker/setup-buildx-action/issues/79 logs `www-authenticate: Bearer
 *   realm="https://europe-west1-docker.pkg.dev/v2/token",service="europe-west1-docker.pkg.dev",scope="repository:wa4x-160521/backend:pull"`.
 *   The user name for an access token is `oauth2accesstoken`
 *   (https://github.com/google-github-actions/deploy-cloudrun/issues/420 : "username: 'oauth2accesstoken'").
 * - The repository (the path component after the project) must exist, and a push to one that does not is a
 *   403 DENIED that cannot tell "missing" from "forbidden":
 *   https://github.com/GoogleCloudPlatform/cymbal-superstore/pull/4 : "denied: Permission
 *   \"artifactregistry.repositories.uploadArtifacts\" denied on resource
 *   \"projects/MY_PROJECT_ID/locations/us-central1/repositories/cymbal-superstore\" (or it may not exist)".
 * - An image name needs three components: https://github.com/docker/build-push-action/issues/171 :
 *   `{"errors":[{"code":"NAME_INVALID","message":"Missing image name. Pushes should be of the form docker push
 *   HOST-NAME/PROJECT-ID/REPOSITORY/IMAGE"}]}`.
 * - No chunked uploads: https://github.com/dotnet/sdk-container-builds/pull/287 quotes the AR docs: "Artifact
 *   Registry does not support Docker chunked uploads ... You must use monolithic uploads".
 */
import {ociError} from '../errors.ts'
import type {FakeRegistry} from '../server.ts'
import {isWrite, repositoryOf, startWith} from './common.ts'

export const AR_LOCATION = 'europe-west1'

export interface ArtifactRegistry {
  registry: FakeRegistry
  /** `gcloud artifacts repositories create REPOSITORY --repository-format=docker --location=LOCATION --project=PROJECT`. */
  createRepository(project: string, repository: string): void
}

export async function startArtifactRegistry(options: {accessToken: string}): Promise<ArtifactRegistry> {
  const created = new Set<string>()
  const registry = await startWith(
    {
      auth: {kind: 'bearer', users: {oauth2accesstoken: options.accessToken}},
      tokenService: {kind: 'path', path: '/v2/token'},
    },
    () => [
      {
        name: 'artifact registry: PROJECT/REPOSITORY/IMAGE',
        when: (ctx) => isWrite(ctx) && (repositoryOf(ctx.path)?.split('/').length ?? 3) < 3,
        action: () => ociError(400, 'NAME_INVALID', 'Missing image name. Pushes should be of the form docker push HOST-NAME/PROJECT-ID/REPOSITORY/IMAGE'),
      },
      {
        name: 'artifact registry: repositories must exist',
        when: (ctx) => {
          const [project, repository] = repositoryOf(ctx.path)?.split('/') ?? []
          return isWrite(ctx) && project !== undefined && !created.has(`${project}/${repository}`)
        },
        action: (ctx) => {
          const [project, repository] = repositoryOf(ctx.path)!.split('/')
          const resource = `projects/${project}/locations/${AR_LOCATION}/repositories/${repository}`
          return ociError(403, 'DENIED', `Permission "artifactregistry.repositories.uploadArtifacts" denied on resource "${resource}" (or it may not exist)`)
        },
      },
      {
        name: 'artifact registry: no chunked uploads',
        method: 'PATCH',
        action: () => ociError(405, 'UNSUPPORTED', 'chunked uploads are not supported; use a monolithic upload'),
      },
    ],
  )
  return {registry, createRepository: (project, repository) => created.add(`${project}/${repository}`)}
}
