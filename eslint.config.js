// Lint: neostandard's style for TypeScript plus the security rule sets.
import neostandard from 'neostandard'
import security from 'eslint-plugin-security'

export default [
  ...neostandard({ ts: true, ignores: ['node_modules/**', 'data/**', 'test-output/**', 'sbom/**'] }),
  security.configs.recommended,
  {
    rules: {
      // Object-injection warnings fire on every indexed access in typed code; the typed
      // lookups here use Maps or validated keys, so this rule only adds noise.
      'security/detect-object-injection': 'off'
    }
  }
]
