#!/usr/bin/env node
'use strict';
const { join } = require('node:path');
const { launch } = require('../dist/bundle/launcher.cjs');

launch(join(__dirname, '..', 'dist', 'bundle', 'stowage.cjs'), process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
