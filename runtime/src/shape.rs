//! What a component asks of the instance pool and of the host, read from its
//! binary in milliseconds, before the (possibly long) compile.
//!
//! A Rust guest is one core module with one memory and one table; a Python,
//! JavaScript or Go guest bundles an interpreter or a runtime, an adapter and
//! shims: dozens of core instances, several memories and tables. The pool is
//! sized from this shape instead of a constant that would reject large guests.

use wasmparser::{Encoding, Parser, Payload};

/// The size of a WebAssembly page, unless a memory says otherwise.
const WASM_PAGE_SIZE: u64 = 64 << 10;

/// Data segments from this size on are mapped copy-on-write.
const COPY_ON_WRITE_FROM: u64 = 1 << 20;

/// The pool resources one instance of a component uses, and its imports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentShape {
    /// Core instances it creates (modules instantiated and export bundles).
    pub core_instances: u32,
    /// Linear memories its core modules define.
    pub memories: u32,
    /// The most memories one core module defines.
    pub memories_per_module: u32,
    /// Tables its core modules define.
    pub tables: u32,
    /// The most tables one core module defines.
    pub tables_per_module: u32,
    /// The largest initial size of one of its tables, in elements.
    pub table_elements: u64,
    /// The largest initial size of one of its linear memories, in bytes.
    pub initial_memory_bytes: u64,
    /// The bytes of its data segments: the initial contents of its memories.
    pub data_bytes: u64,
    /// The names of the component's own imports, such as
    /// `volley:scenario/http@0.1.0`.
    pub imports: Vec<String>,
}

impl ComponentShape {
    /// A shape big enough for any guest seen so far, for small engines that
    /// must load components they have not inspected (one that reads a
    /// scenario's options, the server's catalog).
    pub const GENEROUS: Self = Self {
        core_instances: 200,
        memories: 16,
        memories_per_module: 4,
        tables: 64,
        tables_per_module: 8,
        table_elements: 100_000,
        initial_memory_bytes: 0,
        data_bytes: 0,
        imports: Vec::new(),
    };

    /// [`Self::GENEROUS`], for components whose memories start from an image
    /// large enough to map copy-on-write.
    pub fn generous_copy_on_write() -> Self {
        Self {
            data_bytes: COPY_ON_WRITE_FROM,
            ..Self::GENEROUS
        }
    }

    /// Whether VUs should map the initial contents of their memories
    /// copy-on-write from one shared image instead of each getting a copy.
    /// Sharing saves memory per VU where the image is large (a Python guest's
    /// 12 MiB, Go's 1.5 MB) but costs memory mappings per instance, which
    /// limit how many VUs a process holds; small images are copied.
    pub fn copy_on_write(&self) -> bool {
        self.data_bytes >= COPY_ON_WRITE_FROM
    }

    /// Reads the shape of the component `bytes`. Modules are assumed to be
    /// instantiated once each, as every tool chain seen does.
    pub fn read(bytes: &[u8]) -> Result<Self, wasmparser::BinaryReaderError> {
        let mut shape = Self {
            core_instances: 0,
            memories: 0,
            memories_per_module: 0,
            tables: 0,
            tables_per_module: 0,
            table_elements: 0,
            initial_memory_bytes: 0,
            data_bytes: 0,
            imports: Vec::new(),
        };
        // The encodings of the modules and components being read, outermost first.
        let mut nesting: Vec<Encoding> = Vec::new();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload? {
                Payload::Version { encoding, .. } => nesting.push(encoding),
                Payload::End(_) => {
                    nesting.pop();
                }
                Payload::InstanceSection(section) => {
                    shape.core_instances += section.count();
                }
                Payload::MemorySection(section) => {
                    shape.memories += section.count();
                    shape.memories_per_module = shape.memories_per_module.max(section.count());
                    for memory in section {
                        let memory = memory?;
                        let page_size = memory
                            .page_size_log2
                            .map_or(WASM_PAGE_SIZE, |log2| 1u64 << log2);
                        shape.initial_memory_bytes = shape
                            .initial_memory_bytes
                            .max(memory.initial.saturating_mul(page_size));
                    }
                }
                Payload::TableSection(section) => {
                    shape.tables += section.count();
                    shape.tables_per_module = shape.tables_per_module.max(section.count());
                    for table in section {
                        shape.table_elements = shape.table_elements.max(table?.ty.initial);
                    }
                }
                Payload::DataSection(section) => {
                    for data in section {
                        shape.data_bytes += data?.data.len() as u64;
                    }
                }
                Payload::ComponentImportSection(section) if nesting.len() == 1 => {
                    for import in section {
                        shape.imports.push(import?.name.name.to_owned());
                    }
                }
                _ => {}
            }
        }
        Ok(shape)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_rust_guest() {
        let bytes = std::fs::read(volley_example_artifacts::HELLO).unwrap();
        let shape = ComponentShape::read(&bytes).unwrap();
        assert_eq!(shape.memories, 1, "{shape:?}");
        // A Rust guest starts with about 1 MiB of memory (its stack and data).
        assert!(
            (64 << 10..4 << 20).contains(&shape.initial_memory_bytes),
            "{shape:?}"
        );
        assert!(shape.core_instances >= 2, "{shape:?}");
        assert!(shape.tables >= 1, "{shape:?}");
        // A few kilobytes of data: each VU gets a copy, no mapping.
        assert!(shape.data_bytes > 0, "{shape:?}");
        assert!(!shape.copy_on_write(), "{shape:?}");
        assert!(
            shape
                .imports
                .iter()
                .any(|name| name == "volley:scenario/http@0.1.0"),
            "{shape:?}"
        );
        // Only the component's own imports, not those of its nested modules.
        assert!(
            shape.imports.iter().all(|name| name.contains(':')),
            "{shape:?}"
        );
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(ComponentShape::read(b"\0asm\x0d\0\x01\0garbage").is_err());
    }
}
