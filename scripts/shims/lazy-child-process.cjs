// node:child_process, loaded on first use. commander requires it at start-up for stand-alone
// subcommand executables, which stowage does not have; loading it (and net, dgram, streams
// with it) costs several milliseconds of every run. Any property read loads the real module.
'use strict';
let real;
module.exports = new Proxy(
  {},
  {
    get(_target, key) {
      real ??= require('node:child_process');
      return real[key];
    },
  },
);
