// Plain text, streamed: streamText and its textStream.
import { streamText } from 'ai';
import { TEXT_PROMPT, model, report } from './common.mjs';

const result = streamText({ model: model(), prompt: TEXT_PROMPT, maxRetries: 0 });
const deltas = [];
for await (const delta of result.textStream) deltas.push(delta);
report({ deltas, text: await result.text });
