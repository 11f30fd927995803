// Structured output, streamed: streamText with Output.object, read as partial objects.
import { Output, streamText } from 'ai';
import { z } from 'zod';
import { STRUCTURED_PROMPT, model, report } from './common.mjs';

const City = z.object({ name: z.string(), country: z.string(), population: z.number().int() });
const result = streamText({
  model: model(),
  prompt: STRUCTURED_PROMPT,
  output: Output.object({ schema: City, name: 'City' }),
  maxRetries: 0,
});
let partials = 0;
for await (const _partial of result.partialOutputStream) partials += 1;
report({ partials, object: await result.output });
