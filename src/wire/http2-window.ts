/**
 * HTTP/2's flow-control window bounds (RFC 9113, 6.9.1 and 6.9.2), for the receive windows
 * the server (`--receive-window`, server/receive-window.ts) and the client package
 * (`receiveWindow`, client/src/connection.ts) set: 65,535 bytes is also the window HTTP/2
 * starts with.
 */
export const HTTP2_DEFAULT_WINDOW = 65_535;
export const HTTP2_MAX_WINDOW = 2 ** 31 - 1;
