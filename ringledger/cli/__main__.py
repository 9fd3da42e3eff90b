from ringledger.cli.main import main

main()
