//! Generates the etcd v3 wire types and gRPC service stubs from `proto/`.
//! Uses the protoc shipped by `protoc-bin-vendored` so a fresh machine
//! needs no system protobuf compiler.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    // `Bytes` keys and values are shared, not copied, between the engine,
    // watchers and responses.
    config.bytes(["."]);
    tonic_prost_build::configure()
        // Clients are used for the Raft service (peers call each other);
        // the etcd ones are generated too and simply unused.
        .build_client(true)
        .generate_default_stubs(true)
        .compile_with_config(
            config,
            &["proto/kv.proto", "proto/rpc.proto", "proto/internal.proto"],
            &["proto"],
        )?;
    Ok(())
}
