//go:build !(wasip1 && wasm)

// Outside Wasm the package compiles (for go vet, go test and editors), but every
// call into the runner panics.

package volley

const notInRunner = "volley: this call needs the Volley runner; build the scenario with GOOS=wasip1 GOARCH=wasm"

var gcPercent = 100

func rawSend(*Request) (*Response, error)        { panic(notInRunner) }
func rawSendBatch([]*Request) []Result           { panic(notInRunner) }
func rawCheck(string, bool, []Field) bool        { panic(notInRunner) }
func rawCounterAdd(string, float64, []Field)     { panic(notInRunner) }
func rawGaugeSet(string, float64, []Field)       { panic(notInRunner) }
func rawRateAdd(string, bool, []Field)           { panic(notInRunner) }
func rawTrendAdd(string, float64, bool, []Field) { panic(notInRunner) }
func rawGroupEnter(string)                       { panic(notInRunner) }
func rawGroupLeave()                             { panic(notInRunner) }
func rawLog(LogLevel, string)                    { panic(notInRunner) }
func rawVUID() uint32                            { panic(notInRunner) }
func rawVUIteration() uint64                     { panic(notInRunner) }
func rawVUSleep(uint64)                          { panic(notInRunner) }
func rawVUScenario() string                      { panic(notInRunner) }
func rawVUEnv(string) (string, bool)             { panic(notInRunner) }
func rawVUEnvVars() []Field                      { panic(notInRunner) }
func rawVUSetupData() []byte                     { panic(notInRunner) }
