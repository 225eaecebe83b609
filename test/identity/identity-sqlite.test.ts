import { identitySuite } from './identity-suite.ts'

identitySuite('sqlite', async () => ({ DATABASE_URL: 'sqlite::memory:' }))
