// swift-tools-version:6.0
import PackageDescription

/// Strict concurrency everywhere; warnings are treated as mistakes by `scripts/test`.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "Cohort",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cohort", targets: ["CohortCLI"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        // 4.x: jwt-kit 5 needs it.
        .package(url: "https://github.com/apple/swift-crypto", from: "4.1.0"),
        .package(url: "https://github.com/vapor/jwt-kit", from: "5.7.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // System libraries: a module map and a shim each, nothing else.
        .systemLibrary(name: "CRdKafka", pkgConfig: "rdkafka", providers: [.apt(["librdkafka-dev"])]),
        .systemLibrary(name: "CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        // jemalloc, linked into the executable, replaces glibc's malloc (see `CohortMain`).
        .systemLibrary(name: "CJemalloc", pkgConfig: "jemalloc", providers: [.apt(["libjemalloc-dev"])]),
        // Compiler intrinsics Swift does not offer (a prefetch); a header only, imported by `Memory` alone.
        .systemLibrary(name: "CIntrinsics"),
        // Memory tricks in one place: prefetch, inline byte comparison, huge-page advice. Domain code calls these.
        .target(name: "Memory", dependencies: ["CIntrinsics"], swiftSettings: swiftSettings),
        // jemalloc's start-up options, which only a C global can carry.
        .target(name: "AllocatorOptions"),

        // The only code that imports each C library.
        .target(
            name: "Kafka",
            dependencies: ["CRdKafka", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(name: "LMDB", dependencies: ["CLMDB", "Memory"], swiftSettings: swiftSettings),

        // Domain: CloudEvents, event types, validation. No I/O.
        .target(name: "Events", dependencies: ["Memory"], swiftSettings: swiftSettings),

        // The log interface with its Kafka and embedded implementations.
        .target(
            name: "EventLog",
            dependencies: ["Kafka", "LMDB", "Memory", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),

        // The write side's step between events and log records, both ways: encoding, decoding in either Kafka
        // binding, the deployment's currency rule. Used by ingest, the delivery worker and the projector alike.
        .target(name: "EventRecords", dependencies: ["Events", "EventLog"], swiftSettings: swiftSettings),

        // Deterministic synthetic traffic (customers, orders, visits, redeliveries, poison) and its seeded generator.
        .target(name: "Synthetic", dependencies: ["Events"], swiftSettings: swiftSettings),

        // Read models: pure folds of events into state, the LMDB store, the projector runtime.
        .target(
            name: "Projections",
            dependencies: [
                "Events", "EventLog", "EventRecords", "LMDB", "Memory",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Segments: the rule language, the in-memory customer index and its evaluator, the natural-language parser.
        .target(
            name: "Segments",
            dependencies: ["Events", "Memory", "Projections", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),

        // The only code importing libcurl: a blocking HTTP client with connection reuse.
        .target(name: "Curl", dependencies: ["CCurl"], swiftSettings: swiftSettings),

        // Campaigns: templates, launch planning, the delivery worker.
        .target(
            name: "Campaigns",
            dependencies: [
                "Events", "EventLog", "EventRecords", "Projections", "Segments", "Curl",
                .product(name: "Logging", package: "swift-log"), .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),

        // cohort vendor-sim: a simulated messaging vendor over Hummingbird.
        .target(
            name: "VendorSim",
            dependencies: [
                "Events", "Synthetic", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // AI assist (SPEC §9): words → rules, message suggestions, campaign summaries. Offline by default; an
        // OpenAI-compatible chat-completions endpoint when configured, its output always checked before use.
        .target(
            name: "Assist",
            dependencies: [
                "Events", "Segments", "Projections", "Campaigns", "Curl",
                .product(name: "Logging", package: "swift-log"),
            ],
            resources: [.copy("Resources/phrasings.json"), .copy("Resources/phrasings-unseen.json")],
            swiftSettings: swiftSettings
        ),

        // OpenID Connect sign-in: discovery, PKCE, the code exchange, ID-token checks (jwt-kit), key-set caching.
        .target(
            name: "OIDC",
            dependencies: [
                "Curl", .product(name: "JWTKit", package: "jwt-kit"), .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // HTTP API over Hummingbird: routes, API keys, problem+json, metrics. Domain errors become HTTP here only.
        .target(
            name: "API",
            dependencies: [
                "Events", "EventLog", "EventRecords", "Kafka", "Projections", "Segments", "Campaigns", "CohortConfig",
                "Assist", "OIDC", "Curl", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            resources: [.copy("Resources/openapi.yaml"), .copy("Resources/assets")],
            swiftSettings: swiftSettings
        ),

        // Layered configuration: file < COHORT_* environment < flags.
        .target(
            name: "CohortConfig", dependencies: [.product(name: "TOMLKit", package: "TOMLKit")],
            swiftSettings: swiftSettings
        ),

        // What commands share: stdout lines, the logging bootstrap, progress lines, appending generated traffic.
        .target(
            name: "CommandSupport",
            dependencies: [
                "AllocatorOptions", "CJemalloc", "EventLog", "Events", "Projections", "Synthetic",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // `cohort bench`: the benchmark harness of SPEC §13 and the SQL rendering of rules for the peer databases.
        .target(
            name: "CohortBench",
            dependencies: [
                "Assist", "CohortConfig", "CommandSupport", "EventLog", "Events", "Kafka", "Projections", "Segments",
                "Synthetic", .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Argument parsing and wiring only.
        .executableTarget(
            name: "CohortCLI",
            dependencies: [
                "Events", "EventLog", "EventRecords", "Kafka", "LMDB", "CohortConfig",
                "Projections", "Segments", "API", "Campaigns", "CohortBench", "CommandSupport", "Synthetic",
                "VendorSim",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // Shared helpers for tests: child processes, temporary directories, the dev broker.
        .target(
            name: "TestSupport",
            dependencies: [
                "EventLog", "OIDC", "Curl", .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),

        .testTarget(name: "LMDBTests", dependencies: ["LMDB", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "EventsTests", dependencies: ["Events"], swiftSettings: swiftSettings),
        .testTarget(
            name: "EventLogTests",
            dependencies: ["EventLog", "Kafka", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: ["Projections", "Events", "EventLog", "LMDB", "Memory", "Synthetic", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SegmentsTests",
            dependencies: ["Segments", "Projections", "Events", "EventLog", "Synthetic", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "APITests",
            dependencies: [
                "API", "CohortConfig", "Curl", "EventLog", "Projections", "Segments", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CampaignsTests", dependencies: ["Campaigns", "Projections", "Events"], swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AssistTests",
            dependencies: [
                "Assist", "Segments", "Events", "Campaigns", "Projections", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"), .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OIDCTests", dependencies: ["OIDC", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings),
        .testTarget(name: "KafkaTests", dependencies: ["Kafka", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "CohortConfigTests", dependencies: ["CohortConfig"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CohortCLITests",
            dependencies: [
                "EventLog", "Projections", "TestSupport", .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
