package main

// wakeGrants: the proxy-manager function, which wakes rules.
var wakeGrants = map[string][]Grant{
	"proxy": nil,
}
