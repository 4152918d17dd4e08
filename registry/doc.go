// Package registry keeps the list of running instances of each service.
//
// A Registry registers an instance of a service with a lease (a time to
// live), renews and deregisters it, finds the instances of one service or of
// all of them, builds the apicrud-style map from service name to URL, and
// watches for changes. Two backends implement it: NewMemory, the embedded
// default, and NewRedis, which shares the list between processes through
// Redis, with every entry sealed by AES-256-GCM and bound to its key.
package registry
