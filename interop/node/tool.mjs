// A tool round trip, streamed: the SDK runs get_weather and sends its result back (two steps).
import { isStepCount, streamText, tool } from 'ai';
import { z } from 'zod';
import { TOOL_DESCRIPTION, TOOL_OUTPUT, TOOL_PROMPT, model, report } from './common.mjs';

const calls = [];
const getWeather = tool({
  description: TOOL_DESCRIPTION,
  inputSchema: z.object({ city: z.string().describe('The city') }),
  execute: async ({ city }) => {
    calls.push(city);
    return city === 'Paris' ? TOOL_OUTPUT : `no weather for '${city}'`;
  },
});
const result = streamText({
  model: model(),
  prompt: TOOL_PROMPT,
  tools: { get_weather: getWeather },
  stopWhen: isStepCount(2),
  maxRetries: 0,
});
const deltas = [];
for await (const delta of result.textStream) deltas.push(delta);
report({ calls, text: await result.text, deltas });
