import { z } from 'zod';
const S = z.string({ error: (i) => `bad ${typeof i.input}` }).regex(/^\d+(ms|s)$/).transform((v) => Number(v.replace(/\D/g, '')));
const D = z.preprocess((v) => (v === 0 ? '0ms' : v), S);
console.log(JSON.stringify(z.toJSONSchema(z.object({ a: D.prefault('1s'), b: D.optional() }), { io: 'input', unrepresentable: 'any' })));
console.log(D.safeParse(0), D.safeParse(5).error?.issues, D.safeParse('3s'));
const D2 = z.union([z.literal(0), S]);
console.log(JSON.stringify(D2.safeParse(5).error?.issues));
