// POST /anthropic/secure-generate: the user's text as data for a task, answered only if nothing looks hostile.
import { secureGenerateRoute } from '../../plugins/llm-guard.ts'

export default secureGenerateRoute('anthropic')
