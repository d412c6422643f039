/** A Hugging Face folder that cannot be converted, with a message that says what is wrong and what to do. */
export class ConvertError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConvertError';
  }
}

/** The conversion was cancelled; nothing was left in the output folder. */
export class ConvertCancelledError extends Error {
  constructor() {
    super('The conversion was cancelled.');
    this.name = 'ConvertCancelledError';
  }
}
