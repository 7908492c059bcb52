"""Media every stage reads: video decoding, images, media files on disk, stored JPEG frames."""
