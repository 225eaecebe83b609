// Prompt firewall building blocks: a multilingual cue lexicon scanned in one pass, and hashed features for the model.

/** Cue classes: what a word means for the rules, whatever its language. */
const C = {
  IGNORE: 0,
  INSTR: 1,
  ALL: 2,
  PRIOR: 3,
  NEW: 4,
  TASK: 5,
  NOW: 6,
  FROM: 7,
  YOU: 8,
  ACT: 9,
  ROLE: 10,
  JAILBREAK: 11,
  WITHOUT: 12,
  LIMITS: 13,
  AI: 14,
  READER: 15,
  SYSTEM: 16,
  PROMPT: 17,
  REVEAL: 18,
  SECRET: 19,
  HIDDEN: 20,
  SEND: 21,
  URL: 22,
  DATA: 23,
  IMAGE: 24,
  NOTE: 25,
  SUMMARIZE: 26,
  INSTEAD: 27,
  QUESTION: 28,
  ARE: 29,
  DEVELOPER: 30,
  MODE: 31,
  OBEY: 32,
  NOT: 33,
  OVERRIDE: 34,
  DAN: 35,
  ANYTHING: 36,
  DO: 37,
  UNRESTRICTED: 38,
  WHEN: 39,
  SAFETY: 40,
  IF: 41,
  STOP: 42,
  CONVERSATION: 43,
  ONLY: 44,
  SAY: 45,
  MY: 46,
  MESSAGE: 47,
  META: 48,
  SELF: 49,
  END: 50,
  GIVEN: 51,
  REFUSE: 52,
  VOID: 53,
  AUDIENCE: 54,
  DISABLE: 55,
  NO_LONGER: 56,
  MAKER: 57,
  PERMISSION: 58,
  // classes only the model's concept features use (no rule reads them)
  OBSOLETE: 59,
  SETUP: 60,
  CONFIG: 61,
  MACHINE: 62,
  COPY: 63,
  PLAY: 64,
  PRIVATE: 65,
  APPLY: 66
} as const
const CLASS_COUNT = 67

// Lexicon: word -> classes. A trailing '*' matches any word starting with the stem. Entries are
// in folded form (lowercase, no diacritics), as the scanner sees them. why stems: one entry covers
// the inflections of a verb (ignore, ignoring, ignorez, ignoriere) without a stemmer per language.
const LEXICON: Array<[string, number[]]> = [
  // override verbs: en, es, fr, de, it, pt, ru, zh, ja
  ...['ignor*', 'omiso', 'disregard*', 'forget*', 'forgot*', 'overlook*', 'neglect*', 'discard*', 'abandon*', 'dismiss*',
    'olvid*', 'omit*', 'descart*', 'desestim*', 'oubli*', 'neglig*', 'efface*', 'vergiss*', 'vergess*', 'missacht*', 'verwirf', 'verwerf*', 'uberg*',
    'dimentic*', 'scord*', 'trascur*', 'tralasci*', 'esquec*', 'esquece*', 'desconsider*', 'desprez*', 'abandone*', 'abbandon*',
    'игнорир*', 'забуд*', 'забыт*', 'пренебреги', 'отбрось', '忽略', '忽视', '无视', '忘记', '忘掉', '無視', '忘れ'].map((w): [string, number[]] => [w, [C.IGNORE]]),
  ...['override*', 'overrid*', 'bypass*', 'circumvent*', 'eludir', 'elude', 'evita', 'evade', 'contourn*', 'outrepass*', 'umgeh*', 'aushebel*', 'aggir*', 'contorn*', 'burl*', 'обойди*', '绕过', '回避'].map((w): [string, number[]] => [w, [C.OVERRIDE]]),
  // objects: instructions, rules, prompts
  ...['instruction*', 'directive*', 'rules', 'rule', 'guideline*', 'guidance', 'orders', 'commands', 'command', 'programming', 'constraints', 'restrictions', 'policies', 'policy', 'prompt', 'prompts', 'context',
    'instruccion*', 'indicacion*', 'reglas', 'norma*', 'directric*', 'ordenes', 'orden', 'restriccion*', 'consigne*', 'regle*', 'ordre*',
    'anweisung*', 'instruktion*', 'regeln', 'befehl*', 'vorgab*', 'richtlini*', 'anordnung*', 'istruzion*', 'regol*', 'diretti*', 'ordini', 'comandi', 'instruc*', 'regras', 'diretriz*', 'ordens', 'comando*',
    'инструкц*', 'правил*', 'указани*', 'команд*', '指令', '指示', '规则', '说明', '命令', '提示', 'ルール', '命令'].map((w): [string, number[]] => [w, [C.INSTR]]),
  ...['everything', 'anything', 'all', 'todo', 'todas', 'todos', 'tout', 'toutes', 'tous', 'alles', 'alle', 'allen', 'tutto', 'tutte', 'tutti', 'tudo', 'todas', 'told', 'instructed', 'said', 'taught', 'dit', 'dicho', 'detto', 'dito', 'gesagt', 'всё', 'все', '所有', '一切', 'すべて', '全て'].map((w): [string, number[]] => [w, [C.ALL]]),
  ...['previous*', 'prior', 'above', 'earlier', 'preceding', 'before', 'initial', 'original', 'preset', 'existing', 'current',
    'anterior*', 'previa*', 'previo*', 'precedent*', 'anterieur*', 'dessus', 'initiale*', 'vorherig*', 'vorig*', 'obig*', 'bisherig*', 'vorangegangen*', 'vorangehend*', 'zuvor', 'davor', 'fruher*',
    'precedent*', 'sopra', 'iniziali', 'acima', 'iniciais', 'предыдущ*', 'прежн*', '之前', '以前', '先前', '上面', '前の', '上記'].map((w): [string, number[]] => [w, [C.PRIOR]]),
  ...['new', 'nueva*', 'nuevo*', 'nouvelle*', 'nouveau*', 'neue*', 'neuen', 'nuov*', 'nova*', 'novo*', 'нов*', '新的', '新しい'].map((w): [string, number[]] => [w, [C.NEW]]),
  ...['task*', 'assignment*', 'mission', 'job', 'tarea*', 'tache*', 'aufgab*', 'compit*', 'tarefa*', 'задач*', '任务', 'タスク'].map((w): [string, number[]] => [w, [C.TASK]]),
  ...['now', 'ahora', 'maintenant', 'desormais', 'jetzt', 'nun', 'ora', 'adesso', 'agora', 'теперь', 'сейчас', '现在', '今から'].map((w): [string, number[]] => [w, [C.NOW]]),
  ...['from', 'partir', 'ab', 'von', 'poi'].map((w): [string, number[]] => [w, [C.FROM]]),
  ...['you', 'your', 'yours', 'yourself', 'ta', 'tes', 'ton', 'tu', 'tus', 'te', 'ti', 'usted', 'vous', 'vos', 'votre', 'toi', 'du', 'dich', 'dir', 'dein*', 'voi', 'tuo', 'tua', 'tuoi', 'voce', 'seu', 'sua', 'seus', 'suas', 'teu', 'tua', 'ты', 'вы', 'твои', 'ваши', '你', '您', 'あなた'].map((w): [string, number[]] => [w, [C.YOU]]),
  ...['act', 'acting', 'pretend*', 'roleplay*', 'role-play', 'imagine', 'behave', 'simulate', 'impersonate', 'become', 'embody',
    'actua', 'finge', 'fingir', 'imagina', 'comportate', 'interpreta', 'agis', 'agissez', 'joue', 'jouez', 'comporte*', 'fais', 'faites',
    'spiel*', 'verhalte*', 'agiere*', 'fingi', 'agisci', 'comportati', 'immagina', 'finja', 'aja', 'atue', 'imagine', 'притворись', 'представь', '扮演', '假装', 'ふり', '演じ'].map((w): [string, number[]] => [w, [C.ACT]]),
  ...['role', 'persona', 'character', 'personaje', 'papel', 'rol', 'personnage', 'rolle', 'figur', 'ruolo', 'personaggio', 'personagem', 'роль', '角色', '役'].map((w): [string, number[]] => [w, [C.ROLE]]),
  ...['jailbreak*', 'jailbroken', 'evil', 'malvad*', 'malefique', 'bose', 'malvagi*', 'maligno', 'unfiltered', 'uncensored', 'unrestricted', 'unlimited', 'amoral', 'unethical'].map((w): [string, number[]] => [w, [C.UNRESTRICTED]]),
  ['dan', [C.DAN]],
  ...['without', 'no', 'sin', 'sans', 'aucune', 'ohne', 'keine', 'senza', 'nessuna', 'sem', 'nenhuma', 'без', '没有', '无'].map((w): [string, number[]] => [w, [C.WITHOUT]]),
  ...['limit*', 'restriction*', 'filter*', 'censor*', 'ethic*', 'moral*', 'rules', 'boundaries', 'limite*', 'restriccion*', 'filtro*', 'censura', 'etica', 'regle*', 'filtre*', 'einschrankung*', 'grenzen', 'filter', 'zensur', 'regeln', 'limiti', 'filtri', 'reglas', 'restrizion*', 'regole', 'restricoes', 'regras', 'ограничени*', '限制', '制限'].map((w): [string, number[]] => [w, [C.LIMITS]]),
  ...['ai', 'assistant', 'model', 'llm', 'chatbot', 'bot', 'gpt', 'chatgpt', 'claude', 'gemini', 'copilot', 'agent', 'ia', 'asistente', 'modelo', 'assistant', 'ki', 'assistent*', 'modell', 'assistente', 'modello', 'ии', 'ассистент', 'модель', '人工智能', '助手', '模型', 'アシスタント'].map((w): [string, number[]] => [w, [C.AI]]),
  ...['reading', 'reads', 'processing', 'processes', 'parsing', 'summarizing', 'summarising', 'analyzing', 'analysing', 'ingesting', 'scanning', 'lea', 'lise', 'lit', 'lese', 'legga', 'leia',
    'lee', 'leyendo', 'lees', 'procesa*', 'resum*', 'analiz*', 'lisez', 'lisant', 'traite*', 'analys*', 'liest', 'lesend*', 'verarbeit*', 'zusammenfass*', 'legge', 'leggendo', 'elabor*', 'riassum*', 'lendo', 'processand*', 'читаешь', 'читает', '阅读', '読んで'].map((w): [string, number[]] => [w, [C.READER]]),
  ...['system', 'systems', 'sistema', 'systeme', 'systemprompt', 'systemanweisung*', 'система', '系统', 'システム'].map((w): [string, number[]] => [w, [C.SYSTEM]]),
  ...['prompt*', 'systemprompt', 'instructions', 'instrucciones', 'consignes', 'anweisungen', 'istruzioni', 'instrucoes', 'подсказк*', '提示词', 'プロンプト'].map((w): [string, number[]] => [w, [C.PROMPT]]),
  ...['reveal*', 'print', 'show', 'shows', 'showing', 'display*', 'output*', 'repeat*', 'tell', 'give', 'share', 'dump', 'leak*', 'expose', 'disclose', 'list', 'write', 'spell', 'recite', 'provide', 'paste', 'echo', 'return', 'translate',
    'revela*', 'muestr*', 'mostra*', 'imprim*', 'repit*', 'dime', 'di', 'dame', 'comparte*', 'escrib*', 'proporciona', 'revele*', 'affich*', 'montre*', 'repete*', 'dis', 'dites', 'donne*', 'partage*', 'ecri*', 'fournis*',
    'zeig*', 'gib', 'geben', 'druck*', 'wiederhol*', 'verrat*', 'nenn*', 'teil*', 'schreib*', 'ausgeb*', 'gebe', 'rivel*', 'stamp*', 'ripet*', 'dimmi', 'dammi', 'condivid*', 'scriv*', 'fornisc*', 'mostre*', 'imprima', 'repita', 'diga', 'compartilh*', 'escrev*', 'forneca',
    'покажи', 'выведи', 'раскрой', 'скажи', 'напиши', '显示', '输出', '告诉', '透露', '打印', '表示', '教えて', '出力'].map((w): [string, number[]] => [w, [C.REVEAL]]),
  ...['password*', 'passwd', 'passphrase', 'secret*', 'key', 'keys', 'apikey', 'token*', 'credential*', 'pin', 'contrasena*', 'clave*', 'secreto*', 'passe', 'cle', 'cles', 'passwort*', 'kennwort*', 'schlussel*', 'geheim*', 'zugangsdaten',
    'segret*', 'chiave', 'chiavi', 'credenzial*', 'senha*', 'segredo*', 'chave*', 'пароль', 'ключ', 'секрет*', '密码', '密钥', '秘密', 'パスワード'].map((w): [string, number[]] => [w, [C.SECRET]]),
  ...['hidden', 'confidential', 'internal', 'underlying', 'verbatim', 'exact', 'full', 'entire', 'whole', 'oculto*', 'oculta*', 'confidencial*', 'interno*', 'cache*', 'integral*', 'versteckt*', 'vertraulich*', 'intern*', 'vollstandig*', 'nascost*', 'riservat*', 'completo', 'escondid*', 'скрыт*', '隐藏', '完整'].map((w): [string, number[]] => [w, [C.HIDDEN]]),
  ...['send', 'sends', 'post', 'upload', 'forward', 'transmit', 'exfiltrate*', 'email', 'mail', 'submit', 'append', 'attach', 'include',
    'envia*', 'manda*', 'reenvia*', 'sube', 'adjunta', 'incluye', 'envoie*', 'envoyez', 'transmet*', 'ajoute*', 'inclu*', 'send*', 'schick*', 'ubermittl*', 'leite', 'invia*', 'inoltr*', 'trasmett*', 'aggiung*', 'includ*', 'envie', 'encaminh*', 'transmit*', 'anexe', 'отправь', 'перешли', '发送', '送信'].map((w): [string, number[]] => [w, [C.SEND]]),
  ...['http', 'https', 'www', 'url', 'link', 'webhook', 'endpoint', 'server', 'servidor', 'serveur', 'lien', 'enlace', 'collegamento'].map((w): [string, number[]] => [w, [C.URL]]),
  ...['data', 'history', 'conversation*', 'chat', 'messages', 'emails', 'contacts', 'cookies', 'personal', 'user', 'users', 'session',
    'datos', 'historial', 'conversacion*', 'usuario*', 'mensajes', 'donnees', 'historique', 'utilisateur*', 'daten', 'verlauf', 'gesprach*', 'benutzer*', 'nutzer*', 'nachrichten',
    'dati', 'cronologia', 'utente', 'utenti', 'dados', 'historico', 'conversa', 'usuari*', 'mensagens', 'данные', 'историю', 'пользовател*', '数据', '用户', '对话', 'ユーザー'].map((w): [string, number[]] => [w, [C.DATA]]),
  ...['image', 'img', 'markdown', 'render', 'pixel', 'imagen', 'renderiza', 'bild', 'immagine', 'imagem'].map((w): [string, number[]] => [w, [C.IMAGE]]),
  ...['note', 'attention', 'dear', 'hey', 'hello', 'attn', 'nota', 'atencion', 'querido', 'estimado', 'hola', 'remarque', 'cher', 'chere', 'bonjour', 'hinweis', 'achtung', 'liebe', 'lieber', 'hallo', 'attenzione', 'caro', 'cara', 'ciao', 'atencao', 'ola', 'notice', 'important', 'importante', 'wichtig', '注意'].map((w): [string, number[]] => [w, [C.NOTE]]),
  ...['summar*', 'summaris*', 'summariz*', 'resum*', 'resumen', 'resume*', 'zusammenfass*', 'riassum*', 'sintetiz*', 'translat*', 'traduc*', 'tradui*', 'ubersetz*', 'traduz*'].map((w): [string, number[]] => [w, [C.SUMMARIZE]]),
  ...['instead', 'rather', 'lugar', 'vez', 'plutot', 'stattdessen', 'invece', 'vez', 'вместо', '而是', '代わりに'].map((w): [string, number[]] => [w, [C.INSTEAD]]),
  ...['what', 'whats', 'which', 'where', 'cual', 'cuales', 'que', 'donde', 'quel', 'quelle', 'quels', 'ou', 'was', 'welche*', 'wo', 'wie', 'qual', 'quali', 'dove', 'quais', 'onde', 'какой', 'что', '什么', '何'].map((w): [string, number[]] => [w, [C.QUESTION]]),
  ...['are', 'eres', 'es', 'etes', 'bist', 'sind', 'sei', 'e', 'voce', 'est'].map((w): [string, number[]] => [w, [C.ARE]]),
  ...['developer', 'dev', 'god', 'unrestricted', 'desarrollador', 'desarrollo', 'developpeur', 'entwickler*', 'sviluppatore', 'desenvolvedor', 'разработчик*', '开发者', '開発者'].map((w): [string, number[]] => [w, [C.DEVELOPER]]),
  ...['mode', 'modo', 'modus', 'modalita', 'режим', '模式', 'モード'].map((w): [string, number[]] => [w, [C.MODE]]),
  ...['follow*', 'obey', 'comply', 'sigue', 'seguir', 'obedece*', 'cumple', 'suis', 'suivez', 'suivre', 'obeis', 'obeissez', 'befolg*', 'gehorch*', 'segui', 'seguire', 'obbedisc*', 'siga', 'seguir', 'obedeca', 'следуй', '遵守', '服从', '従'].map((w): [string, number[]] => [w, [C.OBEY]]),
  ...['not', 'dont', 'don', 'never', 'stop', 'nicht', 'nie', 'ne', 'pas', 'jamais', 'nunca', 'non', 'mai', 'nao', 'не', '不要', '别'].map((w): [string, number[]] => [w, [C.NOT]]),
  ...['anything', 'nada', 'cualquier', 'rien', 'importe', 'alles', 'qualsiasi', 'qualquer', 'anythin', 'всё'].map((w): [string, number[]] => [w, [C.ANYTHING]]),
  ...['do', 'haz', 'hacer', 'faire', 'fais', 'tun', 'tue', 'fare', 'fai', 'fazer', 'faca'].map((w): [string, number[]] => [w, [C.DO]]),
  ...['when', 'while', 'cuando', 'al', 'quand', 'lorsque', 'wenn', 'beim', 'quando', 'mentre', 'ao', 'если', '当'].map((w): [string, number[]] => [w, [C.WHEN]]),
  ...['safety', 'security', 'guardrail*', 'safeguard*', 'filter', 'filters', 'moderation', 'content', 'contenid*', 'contenu*', 'inhalt*', 'contenut*', 'conteudo*', 'seguridad', 'securite', 'sicherheit*', 'sicurezza', 'seguranca', 'безопасност*', '安全'].map((w): [string, number[]] => [w, [C.SAFETY]]),
  ...['if', 'si', 'falls', 'wenn', 'se', 'если', '如果'].map((w): [string, number[]] => [w, [C.IF]]),
  ...['stop', 'stopp', 'halt', 'basta', 'arrete', 'cesse', 'hor', 'smetti', 'pare', 'deja', 'deje'].map((w): [string, number[]] => [w, [C.STOP]]),
  ...['conversation*', 'chat', 'session', 'dialog*', 'conversacion*', 'gesprach*', 'conversazion*', 'conversa*'].map((w): [string, number[]] => [w, [C.CONVERSATION]]),
  ...['only', 'just', 'solo', 'solamente', 'unicamente', 'seulement', 'uniquement', 'nur', 'lediglich', 'soltanto', 'apenas', 'somente', 'только', '只'].map((w): [string, number[]] => [w, [C.ONLY]]),
  // first person and the writer's own messages: "ignore my previous email" retracts a message, it does not attack
  ...['my', 'our', 'mi', 'mis', 'nuestro*', 'nuestra*', 'mon', 'ma', 'mes', 'notre', 'nos', 'mein', 'meine', 'meinen', 'meinem', 'meiner', 'unser*',
    'mio', 'mia', 'miei', 'mie', 'nostr*', 'meu', 'minha', 'meus', 'minhas', 'noss*'].map((w): [string, number[]] => [w, [C.MY]]),
  ...['email', 'emails', 'e-mail', 'mail', 'mails', 'message', 'messages', 'comment', 'comments', 'reminder', 'invoice', 'draft', 'diff', 'post', 'letter', 'question',
    'correo', 'correos', 'mensaje', 'mensajes', 'comentario*', 'recordatorio', 'factura', 'borrador', 'pregunta', 'courriel*', 'commentaire*', 'rappel', 'facture', 'brouillon',
    'nachricht*', 'kommentar*', 'erinnerung', 'rechnung', 'entwurf', 'frage', 'messaggio', 'messaggi', 'commento', 'commenti', 'promemoria', 'fattura', 'bozza', 'domanda',
    'mensagem', 'mensagens', 'lembrete', 'fatura', 'rascunho', 'pergunta', 'version*', 'versao', 'versoes', 'versione'].map((w): [string, number[]] => [w, [C.MESSAGE]]),
  ['end', [C.END]],
  ...['disable*', 'deactivat*', 'switch', 'desactiv*', 'disattiv*', 'deaktivier*', 'abschalt*', 'desativ*', 'desligue', 'desliga', 'apaga', 'apague'].map((w): [string, number[]] => [w, [C.DISABLE]]),
  // "you are no longer an assistant": ya no, ne ... plus, kein ... mehr, non ... più, não ... mais
  ...['longer', 'ya', 'plus', 'mehr', 'piu', 'mais'].map((w): [string, number[]] => [w, [C.NO_LONGER]]),
  // who made the model, and permission from them: "the team that built you has approved this"
  ...['built', 'created', 'trained', 'made', 'creo', 'creado', 'entreno', 'entrenado', 'concu', 'cree', 'entraine', 'gebaut', 'trainiert', 'erschaffen', 'entwickelt',
    'creato', 'addestrato', 'costruito', 'criou', 'treinou', 'construiu'].map((w): [string, number[]] => [w, [C.MAKER]]),
  ...['approved', 'authoriz*', 'authoris*', 'permission', 'allow*', 'aprob*', 'autoriz*', 'permiso', 'autoris*', 'erlaub*', 'genehmig*', 'zugestimmt', 'approv*', 'permesso', 'aprovou', 'permissao'].map((w): [string, number[]] => [w, [C.PERMISSION]]),
  // the people an injected text wants the model to talk to: "tell the reader that..."
  ...['reader', 'readers', 'whoever', 'lector', 'lectores', 'lecteur', 'lecteurs', 'leser', 'lettore', 'lettori', 'leitor', 'leitores'].map((w): [string, number[]] => [w, [C.AUDIENCE]]),
  // how a model's setup is named: "the instructions you were given", "la password con cui sei stato configurato"
  ...['given', 'gave', 'configur*', 'programmed', 'dado', 'dadas', 'dados', 'dieron', 'diste', 'recibiste', 'donne', 'donnees', 'recu', 'recues', 'gegeben', 'erhalten',
    'dato', 'dati', 'ricevut*', 'recebeu', 'recebidas', 'deram'].map((w): [string, number[]] => [w, [C.GIVEN]]),
  ...['refus*', 'decline', 'rechaz*', 'niegues', 'rifiut*', 'recus*', 'ablehn*', 'verweiger*'].map((w): [string, number[]] => [w, [C.REFUSE]]),
  ...['cancel*', 'void', 'revoked', 'annul*', 'anula*', 'aufgehoben', 'ungultig', 'gestrichen', 'nul', 'nulle', 'nulas', 'nulos', 'cuentan', 'valen', 'gelten'].map((w): [string, number[]] => [w, [C.VOID]]),
  // the writer speaking ("the instructions I sent", "what I told you"), and dated messages ("yesterday's instructions")
  ...['i', 'yo', 'je', 'ich', 'io', 'eu', 'ho', 'dije', 'dissi', 'disse', 'sent', 'envoye*', 'geschickt', 'gesendet', 'inviat*', 'enviei',
    'yesterday', 'ayer', 'hier', 'gestern', 'ieri', 'ontem'].map((w): [string, number[]] => [w, [C.SELF]]),
  // talk about attacks: a quoted attack phrase next to these words is an example, not an order
  ...['attack*', 'injection*', 'inyeccion*', 'ataque*', 'attaque*', 'angriff*', 'injektion*', 'attacco', 'attacchi', 'iniezion*', 'injecao', 'injecoes', 'phrase*', 'frase*', 'satz', 'satze', 'sentence*',
    'example*', 'ejemplo*', 'exemple*', 'beispiel*', 'esempio', 'esempi', 'exemplo*', 'such', 'como', 'comme', 'wie', 'come', 'like'].map((w): [string, number[]] => [w, [C.META]]),
  // Concept-only words (see CONCEPT_OF_CLASS): paraphrases of the rules' words, in the six languages.
  // why not in the rule classes: they are too common to fire a rule, but as model features next to
  // other concepts ("treat the setup text as outdated") they generalise across wording and language
  ...['outdated', 'obsolete', 'expired', 'superseded', 'suspended', 'lifted', 'revoked', 'invalid', 'moot', 'caduc*', 'perime*', 'obsolet*', 'desactualiz*', 'caducad*', 'anulad*', 'hinfallig*', 'veraltet*', 'abgelaufen', 'aufgehoben',
    'superat*', 'scadut*', 'decadut*', 'annullat*', 'superad*', 'ultrapassad*', 'expirad*', 'efeito', 'efecto', 'effet', 'wirkung', 'effetto'].map((w): [string, number[]] => [w, [C.OBSOLETE]]),
  ...['setup', 'startup', 'started', 'start', 'initiali*', 'initializ*', 'launch*', 'boot*', 'spawned', 'arranc*', 'iniciad*', 'inicializ*', 'demarr*', 'lance', 'gestartet', 'start*', 'einrichtungstext',
    'avvi*', 'iniziat*', 'iniciou', 'inicio', 'configurad*', 'configure', 'configured', 'configurato', 'konfiguriert', 'eingerichtet'].map((w): [string, number[]] => [w, [C.SETUP]]),
  ...['configuration', 'config', 'configuracion', 'konfiguration', 'einrichtung*', 'einrichtungstext', 'configurazion*', 'configuracao', 'parametrage', 'briefing', 'directions', 'pautas', 'lineamientos',
    'consegne', 'orientacoes', 'linee', 'vorschrift*', 'setup', 'ruleset', 'playbook'].map((w): [string, number[]] => [w, [C.CONFIG]]),
  ...['machine', 'robot', 'intelligence', 'inteligencia', 'intelligenz', 'intelligenza', 'inteligencia', 'sprachmodell*', 'maquina', 'macchina', 'maschine', 'ias', 'assistants', 'modelos', 'modeles', 'modelle', 'modelli', 'chatbots', 'bots'].map((w): [string, number[]] => [w, [C.MACHINE]]),
  ...['copy', 'copia*', 'copie*', 'recopi*', 'kopier*', 'cole', 'pega', 'colle', 'incolla', 'word-for-word', 'literal*', 'textual*', 'wortlich*', 'testual*'].map((w): [string, number[]] => [w, [C.COPY]]),
  ...['play', 'playing', 'game', 'stay', 'remain', 'juego', 'juguemos', 'jeu', 'jouons', 'spiel', 'gioco', 'giochiamo', 'jogo', 'jogar', 'finta', 'fingiamo', 'fueras', 'fosses', 'etais', 'warst', 'ware', 'fossi', 'fosse',
    'personagem', 'personaje', 'rolle', 'bleib*', 'resta', 'reste', 'permanece', 'quedate'].map((w): [string, number[]] => [w, [C.PLAY]]),
  ...['private', 'privad*', 'privat*', 'privee*', 'riservat*', 'confidenzial*', 'sigilos*', 'restricted'].map((w): [string, number[]] => [w, [C.PRIVATE]]),
  ...['apply', 'applies', 'valid', 'aplica*', 'applique*', 'gilt', 'gelten', 'valgono', 'valido', 'valida', 'aplicam', 'bind*', 'vigent*', 'vigor'].map((w): [string, number[]] => [w, [C.APPLY]]),
  ...['say', 'answer', 'respond', 'reply', 'write', 'escribe', 'ecris', 'schreibe', 'scrivi', 'escreva', 'di', 'responde', 'contesta', 'dis', 'reponds', 'sag', 'sage', 'antworte', 'rispondi', 'dici', 'responda', 'diga', 'скажи', 'ответь', '说', '回答'].map((w): [string, number[]] => [w, [C.SAY]])
]

/** A rule fires when all its classes occur within `span` tokens of each other. */
interface CueRule { category: string, strength: number, classes: number[], span: number, blockers?: number[], order?: [number, number], check?: number[] }

// why: "ignore my previous email", "forget our old rules" retract the writer's own words; an
// override aimed at the model names its instructions, not the writer's messages
const RETRACTION = [C.MY, C.MESSAGE, C.SELF]
// why: "never share your password" is advice about a secret, not a request for it
const ADVICE = [C.MY, C.NOT]

// Strengths are relative (0..1); the category weight scales them. Weak rules combine cues that also
// occur in innocent text ("forget everything", "system prompt"); strong ones rarely do.
const RULES: CueRule[] = [
  { category: 'override', strength: 1, classes: [C.IGNORE, C.INSTR], span: 6, blockers: RETRACTION },
  { category: 'override', strength: 1, classes: [C.IGNORE, C.PRIOR, C.ALL], span: 5, blockers: RETRACTION },
  { category: 'override', strength: 0.7, classes: [C.IGNORE, C.PRIOR], span: 4, blockers: RETRACTION },
  { category: 'override', strength: 0.5, classes: [C.IGNORE, C.ALL], span: 3, blockers: RETRACTION },
  { category: 'override', strength: 0.4, classes: [C.OVERRIDE, C.INSTR], span: 5, blockers: RETRACTION },
  { category: 'override', strength: 0.6, classes: [C.OVERRIDE, C.SAFETY], span: 4, blockers: RETRACTION },
  { category: 'override', strength: 0.8, classes: [C.NOT, C.OBEY, C.INSTR], span: 6, blockers: RETRACTION, order: [C.NOT, C.OBEY] },
  { category: 'override', strength: 0.4, classes: [C.NEW, C.INSTR], span: 3, blockers: RETRACTION },
  { category: 'override', strength: 0.6, classes: [C.NEW, C.TASK, C.YOU], span: 4 },
  { category: 'override', strength: 0.8, classes: [C.YOU, C.PRIOR, C.TASK], span: 3 },
  { category: 'override', strength: 0.6, classes: [C.YOU, C.PRIOR, C.INSTR], span: 3, blockers: RETRACTION },
  { category: 'override', strength: 0.7, classes: [C.IGNORE, C.TASK], span: 3, blockers: RETRACTION },
  { category: 'override', strength: 0.8, classes: [C.STOP, C.OBEY, C.INSTR], span: 5, order: [C.STOP, C.OBEY] },
  { category: 'override', strength: 0.7, classes: [C.INSTR, C.GIVEN, C.PRIOR], span: 6, blockers: RETRACTION },
  { category: 'override', strength: 0.6, classes: [C.INSTR, C.VOID], span: 4, blockers: RETRACTION },
  { category: 'override', strength: 0.7, classes: [C.YOU, C.TASK, C.VOID], span: 5 },
  { category: 'override', strength: 0.4, classes: [C.FROM, C.NOW], span: 2 },
  { category: 'override', strength: 0.6, classes: [C.INSTEAD, C.SAY], span: 6 },
  { category: 'override', strength: 0.5, classes: [C.ONLY, C.SAY], span: 3 },
  { category: 'persona', strength: 0.3, classes: [C.DEVELOPER, C.MODE], span: 2 },
  { category: 'persona', strength: 0.8, classes: [C.DEVELOPER, C.MODE, C.YOU], span: 5 },
  { category: 'persona', strength: 1, classes: [C.DAN, C.ANYTHING], span: 12 },
  { category: 'persona', strength: 1, classes: [C.DO, C.ANYTHING, C.NOW], span: 3 },
  { category: 'persona', strength: 0.8, classes: [C.DAN, C.ACT], span: 8 },
  { category: 'persona', strength: 0.8, classes: [C.DAN, C.MODE], span: 4 },
  { category: 'persona', strength: 0.7, classes: [C.ACT, C.ROLE], span: 5 },
  { category: 'persona', strength: 0.5, classes: [C.ACT, C.YOU], span: 3 },
  { category: 'persona', strength: 0.4, classes: [C.YOU, C.ARE, C.NOW], span: 3 },
  { category: 'persona', strength: 0.7, classes: [C.WITHOUT, C.LIMITS], span: 3 },
  { category: 'persona', strength: 0.7, classes: [C.NOT, C.REFUSE], span: 2 },
  { category: 'persona', strength: 0.6, classes: [C.DISABLE, C.YOU, C.SAFETY], span: 4 },
  { category: 'persona', strength: 0.5, classes: [C.DISABLE, C.SAFETY], span: 4 },
  { category: 'persona', strength: 0.8, classes: [C.ARE, C.NO_LONGER, C.AI], span: 5 },
  { category: 'persona', strength: 0.4, classes: [C.WITHOUT, C.INSTR], span: 2 },
  // why the order: "the team that built you" appeals to the makers; "if you made this change" does not
  { category: 'persona', strength: 0.5, classes: [C.MAKER, C.YOU], span: 2, order: [C.MAKER, C.YOU] },
  { category: 'override', strength: 0.7, classes: [C.PERMISSION, C.DISABLE], span: 8 },
  { category: 'override', strength: 0.7, classes: [C.PERMISSION, C.IGNORE], span: 8 },
  { category: 'override', strength: 0.7, classes: [C.PERMISSION, C.OVERRIDE], span: 8 },
  { category: 'persona', strength: 0.6, classes: [C.DISABLE, C.YOU, C.LIMITS], span: 4 },
  { category: 'persona', strength: 0.6, classes: [C.UNRESTRICTED, C.AI], span: 4 },
  { category: 'persona', strength: 0.6, classes: [C.UNRESTRICTED, C.YOU], span: 4 },
  { category: 'persona', strength: 0.7, classes: [C.OVERRIDE, C.JAILBREAK], span: 4 },
  { category: 'prompt-extraction', strength: 1, classes: [C.REVEAL, C.YOU, C.SYSTEM, C.PROMPT], span: 7 },
  { category: 'prompt-extraction', strength: 0.5, classes: [C.REVEAL, C.SYSTEM, C.PROMPT], span: 6, blockers: [C.MY, C.SELF] },
  { category: 'prompt-extraction', strength: 0.8, classes: [C.REVEAL, C.HIDDEN, C.INSTR], span: 5 },
  { category: 'prompt-extraction', strength: 1, classes: [C.REVEAL, C.HIDDEN, C.PROMPT, C.YOU], span: 8 },
  { category: 'prompt-extraction', strength: 0.7, classes: [C.REVEAL, C.YOU, C.PROMPT], span: 5 },
  { category: 'prompt-extraction', strength: 0.6, classes: [C.REVEAL, C.PRIOR, C.PROMPT], span: 5 },
  { category: 'prompt-extraction', strength: 0.7, classes: [C.REVEAL, C.YOU, C.SECRET], span: 6, blockers: ADVICE },
  { category: 'prompt-extraction', strength: 0.2, classes: [C.REVEAL, C.SECRET], span: 4, blockers: ADVICE },
  // why the order: a question names its object after the question word ("was ist dein Passwort");
  // "your password was changed" only shares the words
  { category: 'prompt-extraction', strength: 0.6, classes: [C.QUESTION, C.YOU, C.SECRET], span: 5, order: [C.QUESTION, C.YOU] },
  { category: 'prompt-extraction', strength: 0.6, classes: [C.QUESTION, C.YOU, C.PROMPT], span: 5 },
  { category: 'prompt-extraction', strength: 0.3, classes: [C.SYSTEM, C.PROMPT], span: 2 },
  { category: 'prompt-extraction', strength: 0.8, classes: [C.REVEAL, C.SECRET, C.GIVEN], span: 8, blockers: ADVICE },
  { category: 'prompt-extraction', strength: 0.8, classes: [C.INSTR, C.YOU, C.GIVEN], span: 5, blockers: RETRACTION },
  { category: 'prompt-extraction', strength: 0.5, classes: [C.REVEAL, C.PRIOR], span: 3 },
  { category: 'exfiltration', strength: 1, classes: [C.SEND, C.DATA, C.URL], span: 8 },
  { category: 'exfiltration', strength: 1, classes: [C.SEND, C.SECRET, C.URL], span: 8, blockers: [C.MY] },
  { category: 'exfiltration', strength: 0.9, classes: [C.SEND, C.CONVERSATION, C.URL], span: 8 },
  { category: 'exfiltration', strength: 0.8, classes: [C.IMAGE, C.DATA, C.URL], span: 8 },
  { category: 'addressed-to-ai', strength: 0.6, classes: [C.AI, C.READER], span: 4 },
  { category: 'addressed-to-ai', strength: 1, classes: [C.NOTE, C.AI, C.READER], span: 6 },
  { category: 'addressed-to-ai', strength: 0.9, classes: [C.INSTR, C.AI, C.READER], span: 6 },
  { category: 'addressed-to-ai', strength: 1, classes: [C.YOU, C.AI, C.READER], span: 6 },
  { category: 'addressed-to-ai', strength: 0.3, classes: [C.NOTE, C.AI], span: 3 },
  { category: 'addressed-to-ai', strength: 0.6, classes: [C.IF, C.YOU, C.AI], span: 4 },
  { category: 'addressed-to-ai', strength: 0.5, classes: [C.WHEN, C.YOU, C.SUMMARIZE], span: 4 },
  { category: 'addressed-to-ai', strength: 0.25, classes: [C.AI, C.INSTR], span: 3 },
  { category: 'addressed-to-ai', strength: 0.6, classes: [C.NOT, C.SUMMARIZE], span: 2 },
  { category: 'addressed-to-ai', strength: 0.5, classes: [C.AI, C.YOU, C.SUMMARIZE], span: 6 },
  { category: 'addressed-to-ai', strength: 0.9, classes: [C.IF, C.ARE, C.AI], span: 4 },
  { category: 'addressed-to-ai', strength: 0.6, classes: [C.REVEAL, C.AUDIENCE], span: 3 },
  { category: 'addressed-to-ai', strength: 0.8, classes: [C.AI, C.REVEAL, C.AUDIENCE], span: 10 }
]

/** Signal categories the rules can produce (the firewall adds 'model' and the obfuscation ones). */
export const RULE_CATEGORIES = ['override', 'persona', 'prompt-extraction', 'fake-structure', 'exfiltration', 'addressed-to-ai'] as const

interface TrieNode { id: number, next: Map<number, TrieNode>, exact: number[] | null, prefix: number[] | null, excluded: boolean }
const NODES: TrieNode[] = []
function newNode (): TrieNode {
  const node = { id: NODES.length, next: new Map(), exact: null, prefix: null, excluded: false }
  NODES.push(node)
  return node
}
function addClasses (list: number[] | null, classes: number[]): number[] {
  const out = list ?? []
  for (const c of classes) if (!out.includes(c)) out.push(c)
  return out
}

const TRIE = newNode()
for (const [entry, classes] of LEXICON) {
  const isPrefix = entry.endsWith('*')
  // why: the scanner sees folded text (no combining marks), so entries are folded the same way
  const word = (isPrefix ? entry.slice(0, -1) : entry).normalize('NFD').replace(/[\u0300-\u036F]/g, '').normalize('NFC')
  let node = TRIE
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i)
    let child = node.next.get(c)
    if (child === undefined) {
      child = newNode()
      node.next.set(c, child)
    }
    node = child
  }
  if (isPrefix) node.prefix = addClasses(node.prefix, classes)
  else node.exact = addClasses(node.exact, classes)
}
// why: classes from C.OBSOLETE on feed only the model's concept features; the rule scan skips them
const FIRST_CONCEPT_ONLY_CLASS = C.OBSOLETE
function ruleClasses (list: number[] | null): number[] | null {
  const out = list?.filter((c) => c < FIRST_CONCEPT_ONLY_CLASS) ?? []
  return out.length > 0 ? out : null
}
// English verb forms that describe rather than order ("the function ignores the previous value",
// "the assistant ignored my instructions"): the stems above would match them, these words cancel that.
for (const word of ['ignores', 'ignored', 'forgets', 'overrides', 'overridden', 'overrode', 'disregards', 'disregarded', 'bypasses', 'bypassed']) {
  let node = TRIE
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i)
    let child = node.next.get(c)
    if (child === undefined) {
      child = newNode()
      node.next.set(c, child)
    }
    node = child
  }
  node.excluded = true
}

// why a flat table: ASCII transitions (most text) become one array read instead of a Map lookup
const ASCII_NEXT = new Int32Array(NODES.length * 128).fill(-1)
for (const node of NODES) for (const [c, child] of node.next) if (c < 128) ASCII_NEXT[node.id * 128 + c] = child.id

// Concepts: a dozen meanings the model sees instead of words, so that synonyms and translations
// share features ("forget", "treat as outdated", "vergiss" are all DISREGARD). Bit positions in a mask.
const K = {
  DISREGARD: 0,
  PRIOR: 1,
  DIRECTIVE: 2,
  REVEAL: 3,
  SECRET: 4,
  AI: 5,
  ROLE: 6,
  RESTRICT: 7,
  EXFIL: 8,
  YOU: 9,
  NEG: 10,
  NOW: 11,
  SELF: 12,
  META: 13,
  ADDRESS: 14,
  ALL: 15,
  AUTHORITY: 16
} as const
const CONCEPT_OF_CLASS: Array<[number, number[]]> = [
  [C.IGNORE, [K.DISREGARD]], [C.OVERRIDE, [K.DISREGARD]], [C.VOID, [K.DISREGARD]], [C.DISABLE, [K.DISREGARD]], [C.STOP, [K.DISREGARD]], [C.OBSOLETE, [K.DISREGARD]],
  [C.PRIOR, [K.PRIOR]], [C.GIVEN, [K.PRIOR]], [C.SETUP, [K.PRIOR]],
  [C.INSTR, [K.DIRECTIVE]], [C.PROMPT, [K.DIRECTIVE]], [C.TASK, [K.DIRECTIVE]], [C.OBEY, [K.DIRECTIVE]], [C.CONFIG, [K.DIRECTIVE]], [C.APPLY, [K.DIRECTIVE]],
  [C.REVEAL, [K.REVEAL]], [C.SAY, [K.REVEAL]], [C.COPY, [K.REVEAL]],
  [C.SECRET, [K.SECRET]], [C.HIDDEN, [K.SECRET]], [C.SYSTEM, [K.SECRET]], [C.PRIVATE, [K.SECRET]],
  [C.AI, [K.AI]], [C.MACHINE, [K.AI]],
  [C.ACT, [K.ROLE]], [C.ROLE, [K.ROLE]], [C.DAN, [K.ROLE]], [C.MODE, [K.ROLE]], [C.PLAY, [K.ROLE]], [C.UNRESTRICTED, [K.ROLE, K.RESTRICT]],
  [C.LIMITS, [K.RESTRICT]], [C.SAFETY, [K.RESTRICT]],
  [C.SEND, [K.EXFIL]], [C.URL, [K.EXFIL]], [C.DATA, [K.EXFIL]], [C.IMAGE, [K.EXFIL]], [C.CONVERSATION, [K.EXFIL]],
  [C.YOU, [K.YOU]],
  [C.NOT, [K.NEG]], [C.WITHOUT, [K.NEG]], [C.NO_LONGER, [K.NEG]], [C.REFUSE, [K.NEG]],
  [C.NOW, [K.NOW]], [C.NEW, [K.NOW]], [C.FROM, [K.NOW]], [C.INSTEAD, [K.NOW]], [C.ONLY, [K.NOW]],
  [C.MY, [K.SELF]], [C.MESSAGE, [K.SELF]], [C.SELF, [K.SELF]],
  [C.META, [K.META]],
  [C.NOTE, [K.ADDRESS]], [C.READER, [K.ADDRESS]], [C.AUDIENCE, [K.ADDRESS]], [C.WHEN, [K.ADDRESS]], [C.IF, [K.ADDRESS]], [C.SUMMARIZE, [K.ADDRESS]],
  [C.ALL, [K.ALL]], [C.ANYTHING, [K.ALL]],
  [C.DEVELOPER, [K.AUTHORITY]], [C.MAKER, [K.AUTHORITY]], [C.PERMISSION, [K.AUTHORITY]]
]
const CLASS_CONCEPTS = new Int32Array(CLASS_COUNT)
for (const [c, ks] of CONCEPT_OF_CLASS) for (const k of ks) CLASS_CONCEPTS[c] |= 1 << k
function conceptMask (classes: number[] | null): number {
  let m = 0
  if (classes !== null) for (const c of classes) m |= CLASS_CONCEPTS[c]
  return m
}
// why per node: the scan reads one int per word instead of walking the class lists
const EXACT_CONCEPTS = Int32Array.from(NODES, (node) => node.excluded ? 0 : conceptMask(node.exact))
const PREFIX_CONCEPTS = Int32Array.from(NODES, (node) => conceptMask(node.prefix))
for (const node of NODES) {
  node.exact = ruleClasses(node.exact)
  node.prefix = ruleClasses(node.prefix)
}

const RULES_BY_CLASS: CueRule[][] = Array.from({ length: CLASS_COUNT }, () => [])
for (const rule of RULES) for (const c of rule.classes) RULES_BY_CLASS[c].push(rule)
// Classes of everyday words, checked last: a rule then fails on its rare class first (speed only).
const COMMON_CLASSES: number[] = [C.YOU, C.ALL, C.ARE, C.QUESTION, C.WHEN, C.IF, C.NOT, C.WITHOUT, C.FROM, C.NOW, C.DO, C.SAY, C.REVEAL, C.PRIOR, C.NEW, C.ONLY]
for (const rule of RULES) rule.check = [...rule.classes].sort((a, b) => COMMON_CLASSES.indexOf(a) - COMMON_CLASSES.indexOf(b))

function isWordCode (c: number): boolean {
  if (c < 128) return (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90)
  // why: general punctuation, CJK punctuation and full-width forms separate words like spaces do
  return c >= 0xC0 && c !== 0xD7 && c !== 0xF7 && !(c >= 0x2000 && c <= 0x2BFF) && !(c >= 0x3000 && c <= 0x303F) && !(c >= 0xFF00 && c <= 0xFF0F)
}
const ASCII_WORD = Uint8Array.from({ length: 128 }, (_, c) => isWordCode(c) ? 1 : 0)

function isCjkCode (c: number): boolean {
  return (c >= 0x3040 && c <= 0x30FF) || (c >= 0x3400 && c <= 0x9FFF) || (c >= 0xAC00 && c <= 0xD7AF)
}

// why 4: larger than the gap inside any rule's typical phrase, smaller than most spans combined
const SENTENCE_GAP = 4

/** Strongest strength seen per rule category (0 when absent). */
export type RuleHits = Map<string, number>

// why typed arrays: the scan below reads them once per character
const HAS_PREFIX = Uint8Array.from(NODES, (node) => node.prefix !== null || PREFIX_CONCEPTS[node.id] !== 0 ? 1 : 0)
const LAST_SEEN = new Float64Array(CLASS_COUNT)

// why 3 words: a retraction names its object right after the verb ("ignore the previous email")
const BLOCK_AFTER = 3
// why 8 words: "phrases such as «...»" puts the talk-about word shortly before the quote
const META_BEFORE = 8
// why halve: a quoted order is usually an example; the model still scores the text as a whole
const QUOTED_FACTOR = 0.5

// Scan state, reset per view (scoring is synchronous). Hits of rules with blockers wait here until
// the words after them are seen.
const pending: Array<{ rule: CueRule, pos: number, strength: number }> = []
let quoteOpen = false
let wordMarks = 0
// Concept events of the last scanned view (char offset, word position, concept mask), read by conceptFeatures().
let eventChar = new Int32Array(256)
let eventPos = new Float64Array(256)
let eventMask = new Int32Array(256)
let eventCount = 0
function pushEvent (char: number, pos: number, mask: number): void {
  if (eventCount === eventChar.length) {
    const grow = eventChar.length * 2
    const ch = new Int32Array(grow)
    ch.set(eventChar)
    const ps = new Float64Array(grow)
    ps.set(eventPos)
    const ms = new Int32Array(grow)
    ms.set(eventMask)
    eventChar = ch
    eventPos = ps
    eventMask = ms
  }
  eventChar[eventCount] = char
  eventPos[eventCount] = pos
  eventMask[eventCount] = mask
  eventCount++
}

/** Commits waiting hits older than `before` (all of them with Infinity); keeps the list short. */
function flushPending (hits: RuleHits, before: number): void {
  let k = 0
  while (k < pending.length && pending[k].pos < before) {
    const p = pending[k++]
    if (p.strength > 0 && (hits.get(p.rule.category) ?? 0) < p.strength) hits.set(p.rule.category, p.strength)
  }
  if (k > 0) pending.splice(0, k)
}

function fire (classes: number[], pos: number, hits: RuleHits): void {
  if (pending.length > 0) flushPending(hits, pos - BLOCK_AFTER)
  for (const c of classes) {
    LAST_SEEN[c] = pos
    if (c === C.OVERRIDE) wordMarks |= MARK_OVERRIDE
    else if (c === C.END) wordMarks |= MARK_END
  }
  for (const c of classes) {
    if (c === C.MY || c === C.MESSAGE || c === C.SELF || c === C.NOT) {
      for (const p of pending) if (pos - p.pos <= BLOCK_AFTER && (p.rule.blockers?.includes(c) ?? false)) p.strength = 0
    }
    for (const rule of RULES_BY_CLASS[c]) {
      let ok = true
      for (const other of rule.check ?? rule.classes) {
        if (pos - LAST_SEEN[other] > rule.span) {
          ok = false
          break
        }
      }
      if (!ok || (hits.get(rule.category) ?? 0) >= rule.strength) continue
      // why: "do not follow the instructions" orders; "follow the instructions and never share" does not
      if (rule.order !== undefined && LAST_SEEN[rule.order[0]] > LAST_SEEN[rule.order[1]]) continue
      let strength = rule.strength
      if (quoteOpen) strength = pos - LAST_SEEN[C.META] <= META_BEFORE ? 0 : strength * QUOTED_FACTOR
      if (rule.blockers !== undefined) {
        let blocked = false
        for (const b of rule.blockers) if (pos - LAST_SEEN[b] <= rule.span) blocked = true
        // why the check: one waiting hit per rule and position is enough, so the list stays short
        if (!blocked && strength > 0 && !pending.some((p) => p.rule === rule && p.pos === pos)) pending.push({ rule, pos, strength })
      } else if (strength > 0 && (hits.get(rule.category) ?? 0) < strength) {
        hits.set(rule.category, strength)
      }
    }
  }
}

const AT_CLASSES = [C.URL]

function isQuoteCode (c: number): boolean {
  // " « » “ ” „: straight and typographic double quotes; single quotes double as apostrophes
  return c === 34 || c === 0xAB || c === 0xBB || c === 0x201C || c === 0x201D || c === 0x201E
}

/** Bits of STRUCTURE_MARKS: which punctuation a view holds, so scanStructure skips patterns that cannot match. */
const MARK_BITS = new Uint16Array(128)
const STRUCTURE_MARKS = '<[:#=-*"(!'
// and two words: an override verb, and "end"
const MARK_OVERRIDE = 1 << 10
const MARK_END = 1 << 11
for (let k = 0; k < STRUCTURE_MARKS.length; k++) MARK_BITS[STRUCTURE_MARKS.charCodeAt(k)] = 1 << k
function marks (chars: string): number {
  let m = 0
  for (const ch of chars) m |= MARK_BITS[ch.charCodeAt(0)]
  return m
}

/**
 * One linear pass over a folded view: each word is looked up in the lexicon trie, and a rule fires
 * when all its cue classes were seen within its span of words. CJK characters count as half a word.
 * Returns the punctuation marks seen (for scanStructure).
 */
export function scanCues (view: string, hits: RuleHits): number {
  LAST_SEEN.fill(-1e9)
  pending.length = 0
  eventCount = 0
  quoteOpen = false
  wordMarks = 0
  let pos = 0
  let seen = 0
  const n = view.length
  let i = 0
  while (i < n) {
    const c = view.charCodeAt(i)
    if (c === 32) {
      // the most common separator, with nothing to do
      i++
      continue
    }
    if (c < 128 ? ASCII_WORD[c] === 0 : !isWordCode(c)) {
      // why: cues of one rule belong to one sentence; a sentence end moves the position on
      if (c === 46 || c === 33 || c === 63 || c === 59 || c === 10 || c === 0x3002) pos += SENTENCE_GAP
      if (c < 128) seen |= MARK_BITS[c]
      // why: an e-mail address is a destination, like a URL, for the exfiltration rules
      if (c === 64 && i > 0 && isWordCode(view.charCodeAt(i - 1)) && isWordCode(view.charCodeAt(i + 1))) {
        fire(AT_CLASSES, pos, hits)
        pushEvent(i, pos, 1 << K.EXFIL)
      }
      // why a line ends a quote: an unpaired quote mark must not soften the rest of the text
      if (isQuoteCode(c)) quoteOpen = !quoteOpen
      else if (c === 10) quoteOpen = false
      // why not between letters: there a single quote is an apostrophe (don't, l'istruzione)
      else if ((c === 39 || c === 0x2018 || c === 0x2019) && !(i > 0 && isWordCode(view.charCodeAt(i - 1)) && isWordCode(view.charCodeAt(i + 1)))) quoteOpen = !quoteOpen
      i++
      continue
    }
    if (isCjkCode(c)) {
      // why: CJK has no spaces, so every character may start a word; the trie walk is bounded by its depth
      let node: TrieNode | undefined = TRIE
      for (let j = i; j < n && node !== undefined; j++) {
        node = node.next.get(view.charCodeAt(j))
        if (node !== undefined) {
          if (node.exact !== null) fire(node.exact, pos, hits)
          if (node.prefix !== null) fire(node.prefix, pos, hits)
          const mask = EXACT_CONCEPTS[node.id] | PREFIX_CONCEPTS[node.id]
          if (mask !== 0) pushEvent(i, pos, mask)
        }
      }
      pos += 0.5
      i++
      continue
    }
    let j = i
    let id = TRIE.id
    // prefix entries met on the way, fired at the word's end unless the whole word is excluded
    let prefixA = -1
    let prefixB = -1
    let mask = 0
    while (j < n) {
      const d = view.charCodeAt(j)
      if (d < 128 ? ASCII_WORD[d] === 0 : !isWordCode(d) || isCjkCode(d)) break
      if (id >= 0) {
        id = d < 128 ? ASCII_NEXT[id * 128 + d] : (NODES[id].next.get(d)?.id ?? -1)
        if (id >= 0 && HAS_PREFIX[id] === 1) {
          if (prefixA < 0) prefixA = id
          else if (prefixB < 0) prefixB = id
          else {
            fire(NODES[id].prefix ?? [], pos, hits)
            mask |= PREFIX_CONCEPTS[id]
          }
        }
      }
      j++
    }
    if (!(id >= 0 && NODES[id].excluded)) {
      if (prefixA >= 0) fire(NODES[prefixA].prefix ?? [], pos, hits)
      if (prefixB >= 0) fire(NODES[prefixB].prefix ?? [], pos, hits)
      if (prefixA >= 0) mask |= PREFIX_CONCEPTS[prefixA]
      if (prefixB >= 0) mask |= PREFIX_CONCEPTS[prefixB]
    } else {
      mask = 0
    }
    if (id >= 0) mask |= EXACT_CONCEPTS[id]
    if (mask !== 0) pushEvent(i, pos, mask)
    if (id >= 0) {
      const exact = NODES[id].exact
      if (exact !== null) fire(exact, pos, hits)
      // why: a URL is one destination, not a run of words that would use up the rules' spans
      if (j - i <= 5 && view.charCodeAt(j) === 58 && view.charCodeAt(j + 1) === 47 && view.charCodeAt(j + 2) === 47 && exact?.includes(C.URL) === true) {
        while (j < n && view.charCodeAt(j) > 32) j++
      }
    }
    pos++
    i = j
  }
  flushPending(hits, Infinity)
  return seen | wordMarks
}

// Fake conversation structure, chat-template tokens and closing delimiters, on the folded view
// (lowercase, newlines kept). Each pattern is literal text or bounded classes: linear time. Each
// needs one of its marks (punctuation) in the view; why: scanCues reports the marks it crossed, so
// most texts run few of these regexes.
const STRUCTURE_PATTERNS: Array<[marks: number, pattern: RegExp, strength: number]> = [
  [marks('<['), /<\|(?:im_start|im_end|system|assistant|user|endoftext|eot_id|start_header_id|end_header_id)\|>|\[\/?inst\]|<<\/?sys>>|<\/?start_of_turn>|<\/?end_of_turn>/, 1],
  [marks(':'), /(?:^|\n)[ \t]*(?:#{1,6}[ \t]*)?(?:system|assistant|sistema|systeme|admin|developer|root)(?:[ \t]+(?:message|prompt|note|override|update|instruction|instructions|notice))?[ \t]*:/, 0.6],
  // why the lookbehinds: a run of '#', '=' or '-' is tried once from its start, not from every position
  [marks('#'), /(?<!#)#{2,}[ \t]*(?:system|instruction|instructions|new instructions|response|assistant|sistema|instrucciones|anweisung|anweisungen)\b/, 0.7],
  [marks('<'), /<\/(?:data|document|documento|context|input|user_input|user|text|email|untrusted|instructions|system|content|article)>|<(?:system|admin|instructions)>/, 0.6],
  [marks('=-#*'), /(?<![=#*-])(?:={3,}|-{3,}|#{3,}|\*{3,})[ \t]*(?:end|fin|ende|fine|fim)\b/, 0.6],
  [MARK_END, /\bend of (?:the )?(?:document|data|input|context|user input|email|text|article)\b/, 0.5],
  [marks('"'), /"role"[ \t]*:[ \t]*"(?:system|developer)"/, 0.5],
  [marks('[('), /[[(](?:system|admin|developer)(?: note| message| override| prompt)?[\])]/, 0.7],
  [MARK_OVERRIDE, /\b(?:system|admin|developer|security) override\b/, 0.7],
  [marks('<'), /<!--/, 0.2]
]

/** Adds the fake-structure strength found in a folded view; `seen` is what scanCues returned for it. */
export function scanStructure (view: string, hits: RuleHits, seen: number = -1): void {
  for (const [needs, re, strength] of STRUCTURE_PATTERNS) {
    if ((seen & needs) === 0 || (hits.get('fake-structure') ?? 0) >= strength) continue
    if (re.test(view)) hits.set('fake-structure', strength)
  }
}

// Markdown image or link whose URL carries a query: the classic exfiltration channel.
const MARKDOWN_EXFIL_RE = /!\[[^\]\n]{0,200}\]\([ \t]*https?:\/\/[^)\s]{1,400}[?=&{$]/

/** Adds exfiltration found by URL shape (a markdown image with parameters). */
export function scanExfiltration (view: string, hits: RuleHits): void {
  if ((hits.get('exfiltration') ?? 0) < 0.8 && view.includes('![') && MARKDOWN_EXFIL_RE.test(view)) hits.set('exfiltration', 0.8)
}

// ---------------------------------------------------------------------------------------------
// Hashed features for the linear model.

/** why 2^18: few collisions for ~100k distinct n-grams, and 256 KB of int8 weights. */
export const FEATURE_BITS = 18
const FEATURE_SHIFT = 32 - FEATURE_BITS
/** why 384/128: an injected sentence (< 256 chars) sits whole inside some window, and each position is scored 3 times. */
export const WINDOW_CHARS = 384
export const WINDOW_STRIDE = 128
export const WINDOW_BUCKETS = WINDOW_CHARS / WINDOW_STRIDE
// why also 2-bucket windows: a sentence at the very start or end of a long text shares a 3-bucket
// window with 250+ characters of prose; a shorter window dilutes it less.
export const WINDOW_MIN_BUCKETS = 2

/** Bucket ranges [start, end) scored for a view of `buckets` buckets: one if short, else 2- and 3-bucket windows. */
export function windowRanges (buckets: number): Array<[number, number]> {
  if (buckets <= WINDOW_BUCKETS) return [[0, buckets]]
  const out: Array<[number, number]> = []
  for (let size = WINDOW_MIN_BUCKETS; size <= WINDOW_BUCKETS; size++) {
    for (let start = 0; start + size <= buckets; start++) out.push([start, start + size])
  }
  return out
}

/**
 * Hashed features of a folded view, grouped in buckets of WINDOW_STRIDE characters by start
 * position: character 3-, 4- and 5-grams, word unigrams and bigrams (placed at the word's end).
 * With `collect` the feature indices are pushed per bucket (training); otherwise the weights are
 * summed per bucket into `sums` and the feature counts into `counts` (scoring). One function for
 * both, so training and scoring cannot drift apart; no callback, because this is the hot loop.
 */
export function bucketFeatures (view: string, weights: Int8Array | Float32Array, sums: Float64Array, counts: Float64Array, collect: number[][] | null): void {
  const n = view.length
  let wordHash = 0x811C9DC5 | 0
  let prevWord = 0
  let inWord = n > 0 && isWordCode(view.charCodeAt(0))
  // why an outer loop per bucket: the sum and count stay in locals, written once per bucket
  for (let bucket = 0, start = 0; start < n; bucket++, start += WINDOW_STRIDE) {
    const stop = Math.min(n, start + WINDOW_STRIDE)
    let sum = 0
    let count = 0
    const list = collect !== null ? collect[bucket] : null
    // c0..c4: the characters at i..i+4 (NaN past the end, which the length checks exclude)
    let c1 = view.charCodeAt(start)
    let c2 = view.charCodeAt(start + 1)
    let c3 = view.charCodeAt(start + 2)
    let c4 = view.charCodeAt(start + 3)
    for (let i = start; i < stop; i++) {
      const c0 = c1
      c1 = c2
      c2 = c3
      c3 = c4
      c4 = view.charCodeAt(i + 4)
      if (i + 2 < n) {
        let h = Math.imul(Math.imul(Math.imul(0x811C9DC5 ^ c0, 0x01000193) ^ c1, 0x01000193) ^ c2, 0x01000193)
        // why no 3-gram feature: it cost a sixth of the scoring time and gave nothing measurable
        if (i + 3 < n) {
          h = Math.imul(h ^ c3, 0x01000193)
          let f = Math.imul(h ^ (h >>> 15), 0x297A2D39) >>> FEATURE_SHIFT
          count++
          if (list !== null) list.push(f)
          else sum += weights[f]
          if (i + 4 < n) {
            h = Math.imul(h ^ c4, 0x01000193)
            f = Math.imul(h ^ (h >>> 15), 0x5BD1E995) >>> FEATURE_SHIFT
            count++
            if (list !== null) list.push(f)
            else sum += weights[f]
          }
        }
      }
      if (inWord) {
        wordHash = Math.imul(wordHash ^ c0, 0x01000193)
        inWord = c1 < 128 ? ASCII_WORD[c1] === 1 : isWordCode(c1)
        if (!inWord) {
          let f = Math.imul(wordHash ^ (wordHash >>> 13), 0x85EBCA6B) >>> FEATURE_SHIFT
          count++
          if (list !== null) list.push(f)
          else sum += weights[f]
          if (prevWord !== 0) {
            const b = Math.imul(prevWord, 31) ^ wordHash
            f = Math.imul(b ^ (b >>> 13), 0xC2B2AE35) >>> FEATURE_SHIFT
            count++
            if (list !== null) list.push(f)
            else sum += weights[f]
          }
          prevWord = wordHash
          wordHash = 0x811C9DC5 | 0
        }
      } else {
        inWord = c1 < 128 ? ASCII_WORD[c1] === 1 : isWordCode(c1)
      }
    }
    sums[bucket] = sum
    counts[bucket] = count
  }
}

// why 6 words: a concept phrase ("treat everything above as outdated") spans a short clause; the
// sentence gap of the scan (SENTENCE_GAP) keeps most pairs inside one sentence
const CONCEPT_SPAN = 6
// why 3: the previous concept words looked at; bounds the work per word (scoring speed)
const CONCEPT_BACK = 3
/** why a gain: a window holds hundreds of character n-grams and only a few concept features; each counts this many times. */
export const CONCEPT_GAIN = 2

function conceptFeature (h: number, bucket: number, weights: Int8Array | Float32Array, sums: Float64Array, counts: Float64Array, collect: number[][] | null): void {
  const f = Math.imul(h ^ (h >>> 15), 0x2C1B3C6D) >>> FEATURE_SHIFT
  counts[bucket] += CONCEPT_GAIN
  if (collect !== null) for (let g = 0; g < CONCEPT_GAIN; g++) collect[bucket].push(f)
  else sums[bucket] += CONCEPT_GAIN * weights[f]
}

/**
 * Adds the concept features of the view last given to scanCues to its buckets (after
 * bucketFeatures): ordered concept pairs within CONCEPT_SPAN words (adjacent or skipping words)
 * and concept triples. Single concepts are left out: alone they only say what a text is about. Synonyms and translations map to one concept, so these
 * features carry over to wordings the training data never held.
 */
export function conceptFeatures (weights: Int8Array | Float32Array, sums: Float64Array, counts: Float64Array, collect: number[][] | null): void {
  for (let e = 0; e < eventCount; e++) {
    const bucket = Math.floor(eventChar[e] / WINDOW_STRIDE)
    if (bucket >= sums.length) break
    const m = eventMask[e]
    const low = Math.max(0, e - CONCEPT_BACK)
    for (let p = e - 1; p >= low && eventPos[e] - eventPos[p] <= CONCEPT_SPAN; p--) {
      const mp = eventMask[p]
      for (let a = mp; a !== 0; a &= a - 1) {
        const ka = 31 - Math.clz32(a & -a)
        for (let b = m; b !== 0; b &= b - 1) {
          const kb = 31 - Math.clz32(b & -b)
          conceptFeature(0x20000 + ka * 32 + kb, bucket, weights, sums, counts, collect)
          for (let q = p - 1; q >= low && eventPos[e] - eventPos[q] <= CONCEPT_SPAN; q--) {
            for (let c = eventMask[q]; c !== 0; c &= c - 1) {
              const kc = 31 - Math.clz32(c & -c)
              conceptFeature(0x300000 + (kc * 32 + ka) * 32 + kb, bucket, weights, sums, counts, collect)
            }
          }
        }
      }
    }
  }
}
