// Roles and permissions: the one matrix every route's `config.permission` is checked against.
export const ROLES = ['viewer', 'user', 'admin'] as const
export type Role = typeof ROLES[number]

export const PERMISSIONS = {
  'profile:read': ['viewer', 'user', 'admin'],
  'upstream:read': ['viewer', 'user', 'admin'], // kubernetes pods, github repos
  generate: ['user', 'admin'], // LLM and Hugging Face calls
  'keys:manage': ['user', 'admin'], // own API keys
  'provider-keys:manage': ['user', 'admin'],
  'webhooks:read': ['user', 'admin'],
  'keys:manage-any': ['admin'], // other users' keys
  'users:manage': ['admin'],
  'security-events:read': ['admin'],
  'metrics:read': ['admin']
} as const satisfies Record<string, readonly Role[]>

export type Permission = keyof typeof PERMISSIONS

export function isRole (value: string): value is Role {
  return (ROLES as readonly string[]).includes(value)
}

export function isPermission (value: string): value is Permission {
  return Object.hasOwn(PERMISSIONS, value)
}

/** Whether `role` holds `permission`; unknown roles hold nothing. */
export function can (role: string, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly string[]).includes(role)
}
