{
  description = "Plinth: a TypeScript backend on Effect (PostgreSQL, Redis, RabbitMQ, S3) with an HTTP API and a typed RPC server";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    flake-utils.url = "github:numtide/flake-utils";
  };

  outputs = { self, nixpkgs, flake-utils }:
    flake-utils.lib.eachDefaultSystem (system:
      let
        pkgs = import nixpkgs { inherit system; };

        nodejs = pkgs.nodejs_22;
        plinth = import ./nix/package.nix { inherit pkgs nodejs; };
        services = import ./nix/services.nix { inherit pkgs; };
      in
      {
        packages = {
          default = plinth;
          dev-services = services.script;
        } // pkgs.lib.optionalAttrs pkgs.stdenv.isLinux {
          # An image runs Linux binaries, so it is built on (or for) Linux only.
          image = import ./nix/image.nix { inherit pkgs plinth nodejs; };
        };

        apps = {
          default = flake-utils.lib.mkApp { drv = self.packages.${system}.default; };
          dev-services = {
            type = "app";
            program = pkgs.lib.getExe services.script;
          };
        };

        devShells.default = pkgs.mkShell {
          packages = services.tools ++ [
            nodejs
            pkgs.nodePackages.typescript-language-server
            pkgs.jq
            pkgs.openssl
            pkgs.curl
            services.script
          ];

          shellHook = ''
            echo "plinth: node $(node --version). Run 'npm ci' once, then 'npm start' (embedded backends, nothing else needed)."
            echo "plinth: 'plinth-dev-services' starts PostgreSQL, Redis, RabbitMQ and MinIO under ./.dev and prints the variables to export."
          '';
        };

        formatter = pkgs.nixpkgs-fmt;
      });
}
