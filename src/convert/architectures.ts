import type { ArchitectureFamily } from './architecture';
import { ConvertError } from './errors';
import { GPT2_FAMILY } from './gpt2';
import { LLAMA_FAMILY } from './llama';
import { ROBERTA_FAMILY } from './roberta';

/** Every family the converter knows; a new family is one module and one entry here. */
export const FAMILIES: readonly ArchitectureFamily[] = [ROBERTA_FAMILY, GPT2_FAMILY, LLAMA_FAMILY];

export function supportedModelTypes(): string {
  return FAMILIES.map((family) => `${family.modelTypes.join(', ')} (${family.examples})`).join('; ');
}

export function familyFor(modelType: unknown, configFile: string): ArchitectureFamily {
  const family = FAMILIES.find((candidate) => candidate.modelTypes.includes(modelType as string));
  if (family) return family;
  const what = modelType === undefined ? 'has no model_type' : `has model_type ${JSON.stringify(modelType)}`;
  throw new ConvertError(`${configFile} ${what}; the converter supports ${supportedModelTypes()}.`);
}
