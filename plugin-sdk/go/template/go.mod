module example.com/my-scenario

go 1.24

require volley.dev/volley v0.0.0

// The SDK is not published: point at the plugin-sdk/go folder of a Volley
// checkout (relative to this file). Change the path if you copy the template
// elsewhere.
replace volley.dev/volley => ../
