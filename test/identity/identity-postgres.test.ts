import { identitySuite } from './identity-suite.ts'
import { freshPostgresSchema, SKIP_POSTGRES } from '../helper.ts'

identitySuite('postgres', async (t) => ({ DATABASE_URL: await freshPostgresSchema(t) }), SKIP_POSTGRES)
