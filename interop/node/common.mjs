// What every case script shares: the model for one API, the prompts (as in ../cases.py), and
// printing the result as one JSON line for the Python test to check.
//   node <case>.mjs <responses|chat|messages> <server base URL ending in /v1>
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';

export const TEXT_PROMPT = 'Explain why streaming makes a chat feel fast.';
export const TOOL_PROMPT = 'What is the weather in Paris?';
export const TOOL_DESCRIPTION = 'Get the current weather for a city.';
export const TOOL_OUTPUT = 'Sunny, 21 C in Paris';
export const STRUCTURED_PROMPT = 'Describe the city of Paris in France.';

const [api, baseURL] = process.argv.slice(2);
const apiKey = 'sk-interop-local';

export function model() {
  if (api === 'responses') return createOpenAI({ baseURL, apiKey }).responses('kit-sim-1');
  if (api === 'chat') return createOpenAI({ baseURL, apiKey }).chat('kit-sim-1');
  if (api === 'messages') return createAnthropic({ baseURL, apiKey })('claude-haiku-4-5');
  throw new Error(`unknown API ${api}`);
}

export function report(result) {
  console.log(JSON.stringify(result));
}
