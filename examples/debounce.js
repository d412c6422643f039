'use strict';

/**
 * Returns a function that delays calling fn until wait milliseconds have passed
 * since the last call. The returned function has cancel() and flush().
 */
function debounce(fn, wait, options = {}) {
  let timer = null;
  let lastArgs = null;
  let lastThis = null;
  const leading = Boolean(options.leading);

  function invoke() {
    const args = lastArgs;
    const context = lastThis;
    lastArgs = null;
    lastThis = null;
    return fn.apply(context, args);
  }

  function debounced(...args) {
    const callNow = leading && timer === null;
    lastArgs = args;
    lastThis = this;
    if (timer !== null) {
      clearTimeout(timer);
    }
    timer = setTimeout(() => {
      timer = null;
      if (!leading && lastArgs !== null) {
        invoke();
      }
    }, wait);
    if (callNow) {
      return invoke();
    }
    return undefined;
  }

  debounced.cancel = function cancel() {
    if (timer !== null) {
      clearTimeout(timer);
    }
    timer = null;
    lastArgs = null;
  };

  debounced.flush = function flush() {
    if (timer === null || lastArgs === null) {
      return undefined;
    }
    clearTimeout(timer);
    timer = null;
    return invoke();
  };

  return debounced;
}

module.exports = { debounce };
