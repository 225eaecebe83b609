// GET /kubernetes/secure-list-pods.
import { Type } from 'typebox'
import { CONTINUE_TOKEN_MAX_LENGTH, DNS1123_LABEL_MAX_LENGTH, POD_PAGE_LIMIT_DEFAULT, POD_PAGE_LIMIT_MAX } from '../security/kubernetes.ts'

export const ListPodsQuerySchema = Type.Object({
  namespace: Type.Optional(Type.String({ minLength: 1, maxLength: DNS1123_LABEL_MAX_LENGTH, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', description: 'DNS-1123 label; one of K8S_NAMESPACES (default: the pod\'s own)' })),
  limit: Type.Integer({ minimum: 1, maximum: POD_PAGE_LIMIT_MAX, default: POD_PAGE_LIMIT_DEFAULT }),
  continue: Type.Optional(Type.String({ minLength: 1, maxLength: CONTINUE_TOKEN_MAX_LENGTH, pattern: '^[A-Za-z0-9_=+/-]+$' }))
}, { additionalProperties: false })

export const PodSchema = Type.Object({
  name: Type.String(),
  phase: Type.String(),
  ready: Type.String({ pattern: '^[0-9]+/[0-9]+$' }),
  restarts: Type.Integer({ minimum: 0 }),
  createdAt: Type.Union([Type.String(), Type.Null()])
}, { additionalProperties: false })

export const ListPodsResponseSchema = Type.Object({
  namespace: Type.String(),
  pods: Type.Array(PodSchema),
  next: Type.Union([Type.String(), Type.Null()], { description: 'pass as ?continue= for the next page' })
}, { additionalProperties: false })
