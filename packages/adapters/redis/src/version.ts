/** This package's version: part of every script's command name, so two versions never share a cached script. */
export const PACKAGE_VERSION = '0.1.0';
